"""Azure AI Document Intelligence (prebuilt-layout / prebuilt-read) through azure-ai-documentintelligence
(optional extra). Page geometry comes in inches for PDFs and pixels for images; we normalise by the page size."""

from __future__ import annotations

from typing import Any

from doc_pipeline.escalation.adapters.base import CloudOcrAdapter, clamp01, empty_page
from doc_pipeline.escalation.errors import OptionalDependencyError, ThrottledError, TransientVendorError, VendorError
from doc_pipeline.escalation.retry import parse_retry_after


def _points(polygon: list | None) -> list[tuple[float, float]]:
    if not polygon:
        return []
    if isinstance(polygon[0], dict):  # older shape: [{"x":..,"y":..}]
        return [(float(p["x"]), float(p["y"])) for p in polygon]
    flat = [float(v) for v in polygon]
    return list(zip(flat[0::2], flat[1::2]))


def _bbox(polygon: list | None, size: tuple[float, float]) -> list[float] | None:
    pts = _points(polygon)
    if not pts or not size[0] or not size[1]:
        return None
    xs = [x / size[0] for x, _ in pts]
    ys = [y / size[1] for _, y in pts]
    return [clamp01(min(xs)), clamp01(min(ys)), clamp01(max(xs)), clamp01(max(ys))]


def _region(element: dict | None, sizes: dict[int, tuple[float, float]]) -> tuple[int, list[float] | None]:
    regions = (element or {}).get("boundingRegions") or []
    if not regions:
        return 1, None
    n = int(regions[0].get("pageNumber", 1))
    return n, _bbox(regions[0].get("polygon"), sizes.get(n, (0.0, 0.0)))


def parse_azure(resp: dict[str, Any]) -> list[dict]:
    """An analyze operation result ({"status", "analyzeResult"}) or the analyzeResult itself -> neutral pages."""
    ar = resp.get("analyzeResult", resp)
    pages: dict[int, dict] = {}
    sizes: dict[int, tuple[float, float]] = {}
    for p in ar.get("pages") or []:
        n = int(p.get("pageNumber", len(pages) + 1))
        size = (float(p.get("width") or 0), float(p.get("height") or 0))
        sizes[n] = size
        page = empty_page(n, size[0] or None, size[1] or None, p.get("unit") or "pixel")
        line_spans = []
        for ln in p.get("lines") or []:
            page["lines"].append({"text": ln.get("content", ""), "bbox": _bbox(ln.get("polygon"), size),
                                  "confidence": 1.0})  # Azure gives no line confidence
            line_spans.append([(int(s.get("offset", 0)), int(s.get("offset", 0)) + int(s.get("length", 0)))
                               for s in ln.get("spans") or []])
        for w in p.get("words") or []:
            off = int((w.get("span") or {}).get("offset", -1))
            page["words"].append(w.get("content", ""))
            page["bboxes"].append(_bbox(w.get("polygon"), size) or [0.0, 0.0, 0.0, 0.0])
            page["confidences"].append(clamp01(float(w.get("confidence", 0) or 0)))
            page["word_lines"].append(next((li for li, spans in enumerate(line_spans)
                                            if any(a <= off < b for a, b in spans)), -1))
        page["text"] = "\n".join(ln["text"] for ln in page["lines"])
        pages[n] = page
    for t in ar.get("tables") or []:
        n, bbox = _region(t, sizes)
        rows = [["" for _ in range(int(t.get("columnCount", 0)))] for _ in range(int(t.get("rowCount", 0)))]
        for c in t.get("cells") or []:
            r, col = int(c.get("rowIndex", 0)), int(c.get("columnIndex", 0))
            if r < len(rows) and col < len(rows[r]):
                rows[r][col] = " ".join((c.get("content") or "").split())
        pages.setdefault(n, empty_page(n))["tables"].append({"bbox": bbox, "rows": rows, "confidence": 1.0})
    for kv in ar.get("keyValuePairs") or []:
        key, value = kv.get("key") or {}, kv.get("value") or {}
        n, key_bbox = _region(key, sizes)
        _, value_bbox = _region(value, sizes) if value else (n, None)
        pages.setdefault(n, empty_page(n))["key_values"].append({
            "key": " ".join((key.get("content") or "").split()).rstrip(":").strip(),
            "value": " ".join((value.get("content") or "").split()),
            "confidence": clamp01(float(kv.get("confidence", 0) or 0)), "key_bbox": key_bbox, "value_bbox": value_bbox})
    return [pages[n] for n in sorted(pages)]


class AzureAdapter(CloudOcrAdapter):
    vendor = "azure"

    @property
    def features(self) -> list[str]:
        feats = sorted(self.settings.azure_features) if self.settings.azure_model == "prebuilt-layout" else []
        return [f"model={self.settings.azure_model}", *feats]

    def build_request(self, bucket: str, key: str, content: bytes | None) -> dict[str, Any]:
        """Arguments of begin_analyze_document. Without bytes, `key` must be a URL the service can fetch
        (e.g. a presigned URL): Azure does not read S3/GCS buckets."""
        if content is not None:
            body: dict[str, Any] = {"bytesSource": content}
        elif key.startswith(("https://", "http://")):
            body = {"urlSource": key}
        else:
            raise VendorError("azure: without content bytes, key must be a URL the service can fetch")
        req: dict[str, Any] = {"model_id": self.settings.azure_model, "body": body}
        feats = [f for f in self.features if "=" not in f]
        if feats:
            req["features"] = feats
        return req

    def client(self):
        if self._client is None:
            try:
                from azure.ai.documentintelligence import DocumentIntelligenceClient
                from azure.core.credentials import AzureKeyCredential
            except ImportError as exc:
                raise OptionalDependencyError(
                    "Azure needs the optional extra: pip install azure-ai-documentintelligence") from exc
            s = self.settings
            kwargs: dict[str, Any] = {"retry_total": 0,  # tenacity owns retries
                                      "connection_timeout": min(10.0, s.request_timeout_s),
                                      "read_timeout": s.request_timeout_s}
            if s.azure_api_version:
                kwargs["api_version"] = s.azure_api_version
            self._client = DocumentIntelligenceClient(s.azure_endpoint, AzureKeyCredential(s.azure_key.get_secret_value()),
                                                      **kwargs)
        return self._client

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        from azure.ai.documentintelligence.models import AnalyzeDocumentRequest

        req = dict(request)
        body = req.pop("body")
        req["body"] = AnalyzeDocumentRequest(bytes_source=body.get("bytesSource"), url_source=body.get("urlSource"))
        poller = self.client().begin_analyze_document(polling_interval=self.poll_interval, **req)
        result = poller.result(timeout=self.settings.request_timeout_s)
        return {"analyzeResult": result.as_dict()}

    poll_interval: float = 1.0

    def parse(self, raw: dict[str, Any]) -> list[dict]:
        return parse_azure(raw)

    def classify(self, exc: Exception) -> Exception:
        try:
            from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
        except ImportError:
            return exc
        if isinstance(exc, HttpResponseError) and exc.status_code is not None:
            headers = exc.response.headers if exc.response is not None else {}
            retry_after = parse_retry_after(headers.get("Retry-After"))
            msg = f"azure {exc.status_code}: {exc.reason or ''}"
            if exc.status_code == 429:
                return ThrottledError(msg, retry_after)
            if exc.status_code >= 500:
                return TransientVendorError(msg, retry_after)
            return VendorError(msg)
        if isinstance(exc, (ServiceRequestError, ServiceResponseError, TimeoutError)):
            return TransientVendorError(f"azure connection: {exc}")
        return exc
