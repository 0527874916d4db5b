"""Google Document AI (Form Parser / Layout / OCR processor) through google-cloud-documentai (optional extra)."""

from __future__ import annotations

import json
from typing import Any

from doc_pipeline.escalation.adapters.base import CloudOcrAdapter, clamp01, empty_page, sniff_mime
from doc_pipeline.escalation.errors import OptionalDependencyError, ThrottledError, TransientVendorError, VendorError


def _g(d: dict | None, camel: str, snake: str | None = None, default: Any = None) -> Any:
    """REST JSON is camelCase, proto-plus to_dict is snake_case: accept both."""
    if not d:
        return default
    if camel in d:
        return d[camel]
    if snake and snake in d:
        return d[snake]
    return default


def _segments(layout: dict | None) -> list[tuple[int, int]]:
    anchor = _g(layout, "textAnchor", "text_anchor") or {}
    return [(int(_g(s, "startIndex", "start_index", 0) or 0), int(_g(s, "endIndex", "end_index", 0) or 0))
            for s in _g(anchor, "textSegments", "text_segments", []) or []]


def _text(full: str, layout: dict | None) -> str:
    return "".join(full[a:b] for a, b in _segments(layout))


def _bbox(layout: dict | None, dim: tuple[float, float] | None) -> list[float] | None:
    poly = _g(layout, "boundingPoly", "bounding_poly") or {}
    pts = _g(poly, "normalizedVertices", "normalized_vertices") or []
    if pts:
        xs = [float(p.get("x", 0) or 0) for p in pts]
        ys = [float(p.get("y", 0) or 0) for p in pts]
    else:  # pixel vertices: divide by the page dimension
        pts = _g(poly, "vertices") or []
        if not pts or not dim or not dim[0] or not dim[1]:
            return None
        xs = [float(p.get("x", 0) or 0) / dim[0] for p in pts]
        ys = [float(p.get("y", 0) or 0) / dim[1] for p in pts]
    return [clamp01(min(xs)), clamp01(min(ys)), clamp01(max(xs)), clamp01(max(ys))]


def parse_documentai(resp: dict[str, Any]) -> list[dict]:
    """A ProcessResponse ({"document": ...}) or a Document, JSON form -> neutral pages."""
    doc = resp.get("document", resp)
    full = doc.get("text", "") or ""
    out = []
    for i, p in enumerate(doc.get("pages") or [], start=1):
        dimension = p.get("dimension") or {}
        dim = (float(dimension.get("width", 0) or 0), float(dimension.get("height", 0) or 0))
        unit = dimension.get("unit") or "pixels"
        page = empty_page(int(_g(p, "pageNumber", "page_number", i) or i), dim[0] or None, dim[1] or None,
                          "points" if unit.startswith("point") else ("inch" if unit.startswith("inch") else "pixel"))
        line_ranges = []
        for ln in p.get("lines") or []:
            lay = ln.get("layout") or {}
            page["lines"].append({"text": _text(full, lay).strip(), "bbox": _bbox(lay, dim),
                                  "confidence": clamp01(float(lay.get("confidence", 0) or 0))})
            segs = _segments(lay)
            line_ranges.append((min((a for a, _ in segs), default=0), max((b for _, b in segs), default=0)))
        for tok in p.get("tokens") or []:
            lay = tok.get("layout") or {}
            word = _text(full, lay).strip()
            if not word:
                continue
            start = min((a for a, _ in _segments(lay)), default=0)
            page["words"].append(word)
            page["bboxes"].append(_bbox(lay, dim) or [0.0, 0.0, 0.0, 0.0])
            page["confidences"].append(clamp01(float(lay.get("confidence", 0) or 0)))
            page["word_lines"].append(next((li for li, (a, b) in enumerate(line_ranges) if a <= start < b), -1))
        for t in p.get("tables") or []:
            rows = []
            for r in (_g(t, "headerRows", "header_rows") or []) + (_g(t, "bodyRows", "body_rows") or []):
                row: list[str] = []
                for c in r.get("cells") or []:
                    row.append(" ".join(_text(full, c.get("layout")).split()))
                    row.extend([""] * (int(_g(c, "colSpan", "col_span", 1) or 1) - 1))
                rows.append(row)
            width = max((len(r) for r in rows), default=0)
            rows = [r + [""] * (width - len(r)) for r in rows]
            lay = t.get("layout") or {}
            page["tables"].append({"bbox": _bbox(lay, dim), "rows": rows,
                                   "confidence": clamp01(float(lay.get("confidence", 0) or 0))})
        for ff in _g(p, "formFields", "form_fields") or []:
            name = _g(ff, "fieldName", "field_name") or {}
            value = _g(ff, "fieldValue", "field_value") or {}
            page["key_values"].append({
                "key": " ".join(_text(full, name).split()).rstrip(":").strip(),
                "value": " ".join(_text(full, value).split()),
                "confidence": clamp01(min(float(name.get("confidence", 0) or 0), float(value.get("confidence", 0) or 0))),
                "key_bbox": _bbox(name, dim), "value_bbox": _bbox(value, dim)})
        page["text"] = "\n".join(ln["text"] for ln in page["lines"]) if page["lines"] else full
        out.append(page)
    return out


class DocumentAIAdapter(CloudOcrAdapter):
    vendor = "documentai"

    @property
    def features(self) -> list[str]:
        return [f"processor={self.settings.gcp_processor_id or ''}", f"version={self.settings.gcp_processor_version or ''}"]

    @property
    def processor_name(self) -> str:
        s = self.settings
        name = f"projects/{s.gcp_project}/locations/{s.gcp_location}/processors/{s.gcp_processor_id}"
        return f"{name}/processorVersions/{s.gcp_processor_version}" if s.gcp_processor_version else name

    def build_request(self, bucket: str, key: str, content: bytes | None) -> dict[str, Any]:
        """A ProcessRequest (field names as in the proto; the SDK takes this dict as is)."""
        mime = sniff_mime(content, key)
        req: dict[str, Any] = {"name": self.processor_name, "skip_human_review": True}
        if content is not None:
            req["raw_document"] = {"content": content, "mime_type": mime}
        else:
            req["gcs_document"] = {"gcs_uri": f"gs://{bucket}/{key}", "mime_type": mime}
        return req

    def client(self):
        if self._client is None:
            try:
                from google.api_core.client_options import ClientOptions
                from google.cloud import documentai
            except ImportError as exc:
                raise OptionalDependencyError(
                    "Document AI needs the optional extra: pip install google-cloud-documentai") from exc
            s = self.settings
            opts = ClientOptions(api_endpoint=f"{s.gcp_location}-documentai.googleapis.com")
            kwargs: dict[str, Any] = {"client_options": opts}
            if s.gcp_credentials_file:
                from google.oauth2 import service_account

                kwargs["credentials"] = service_account.Credentials.from_service_account_file(str(s.gcp_credentials_file))
            self._client = documentai.DocumentProcessorServiceClient(**kwargs)
        return self._client

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        from google.cloud import documentai

        result = self.client().process_document(request=documentai.ProcessRequest(**request), retry=None,
                                                timeout=self.settings.request_timeout_s)
        return {"document": json.loads(documentai.Document.to_json(result.document))}

    def parse(self, raw: dict[str, Any]) -> list[dict]:
        return parse_documentai(raw)

    def classify(self, exc: Exception) -> Exception:
        try:
            from google.api_core import exceptions as gexc
        except ImportError:
            return exc
        if isinstance(exc, (gexc.ResourceExhausted, gexc.TooManyRequests)):
            return ThrottledError(f"documentai: {exc.message}")
        if isinstance(exc, (gexc.ServiceUnavailable, gexc.InternalServerError, gexc.DeadlineExceeded,
                            gexc.GatewayTimeout, gexc.BadGateway)):
            return TransientVendorError(f"documentai: {exc.message}")
        if isinstance(exc, gexc.GoogleAPICallError):
            return VendorError(f"documentai: {exc.message}")
        return exc
