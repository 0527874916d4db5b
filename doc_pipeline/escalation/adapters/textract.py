"""AWS Textract AnalyzeDocument through boto3 (synchronous API: images and single-page PDFs, which is what we send:
one page per call, so we pay only for the pages worth it)."""

from __future__ import annotations

from typing import Any

from doc_pipeline.escalation.adapters.base import CloudOcrAdapter, clamp01, empty_page, union_bbox
from doc_pipeline.escalation.errors import ThrottledError, TransientVendorError, VendorError

THROTTLE_CODES = {"ThrottlingException", "ProvisionedThroughputExceededException", "LimitExceededException",
                  "TooManyRequestsException", "RequestLimitExceeded", "SlowDown"}
TRANSIENT_CODES = {"InternalServerError", "ServiceUnavailable", "ServiceUnavailableException", "RequestTimeout"}


def _bbox(block: dict) -> list[float] | None:
    bb = (block.get("Geometry") or {}).get("BoundingBox")
    if not bb:
        return None
    left, top = float(bb.get("Left", 0)), float(bb.get("Top", 0))
    return [clamp01(left), clamp01(top), clamp01(left + float(bb.get("Width", 0))), clamp01(top + float(bb.get("Height", 0)))]


def _children(block: dict, rel_type: str = "CHILD") -> list[str]:
    return [i for r in block.get("Relationships") or [] if r.get("Type") == rel_type for i in r.get("Ids", [])]


def parse_textract(resp: dict[str, Any]) -> list[dict]:
    """AnalyzeDocument / DetectDocumentText response (Blocks with ratio geometry, confidence 0..100) -> neutral pages."""
    blocks = resp.get("Blocks") or []
    by_id = {b["Id"]: b for b in blocks if "Id" in b}
    pages: dict[int, dict] = {}

    def page_of(b: dict) -> dict:
        n = int(b.get("Page") or 1)
        if n not in pages:
            pages[n] = empty_page(n)
        return pages[n]

    for b in blocks:
        if b.get("BlockType") == "PAGE":
            page_of(b)

    def text_of(b: dict) -> str:
        parts = []
        for cid in _children(b):
            c = by_id.get(cid, {})
            if c.get("BlockType") == "WORD":
                parts.append(c.get("Text", ""))
            elif c.get("BlockType") == "SELECTION_ELEMENT" and c.get("SelectionStatus") == "SELECTED":
                parts.append("X")
        return " ".join(p for p in parts if p)

    seen_words: set[str] = set()
    for b in blocks:
        if b.get("BlockType") != "LINE":
            continue
        page = page_of(b)
        li = len(page["lines"])
        page["lines"].append({"text": b.get("Text", ""), "bbox": _bbox(b), "confidence": float(b.get("Confidence", 0)) / 100})
        for wid in _children(b):
            w = by_id.get(wid)
            if not w or w.get("BlockType") != "WORD" or wid in seen_words:
                continue
            seen_words.add(wid)
            page["words"].append(w.get("Text", ""))
            page["bboxes"].append(_bbox(w) or [0.0, 0.0, 0.0, 0.0])
            page["confidences"].append(clamp01(float(w.get("Confidence", 0)) / 100))
            page["word_lines"].append(li)
    for b in blocks:  # words no line claimed (rare) still count
        if b.get("BlockType") == "WORD" and b["Id"] not in seen_words:
            page = page_of(b)
            page["words"].append(b.get("Text", ""))
            page["bboxes"].append(_bbox(b) or [0.0, 0.0, 0.0, 0.0])
            page["confidences"].append(clamp01(float(b.get("Confidence", 0)) / 100))
            page["word_lines"].append(-1)

    for b in blocks:
        bt = b.get("BlockType")
        if bt == "TABLE":
            cells = [by_id[c] for c in _children(b) if by_id.get(c, {}).get("BlockType") == "CELL"]
            n_rows = max((int(c.get("RowIndex", 1)) + int(c.get("RowSpan", 1)) - 1 for c in cells), default=0)
            n_cols = max((int(c.get("ColumnIndex", 1)) + int(c.get("ColumnSpan", 1)) - 1 for c in cells), default=0)
            rows = [["" for _ in range(n_cols)] for _ in range(n_rows)]
            for c in cells:
                rows[int(c.get("RowIndex", 1)) - 1][int(c.get("ColumnIndex", 1)) - 1] = text_of(c)
            page_of(b)["tables"].append({"bbox": _bbox(b), "rows": rows, "confidence": float(b.get("Confidence", 0)) / 100})
        elif bt == "KEY_VALUE_SET" and "KEY" in (b.get("EntityTypes") or []):
            values = [by_id[v] for v in _children(b, "VALUE") if v in by_id]
            value_text = " ".join(text_of(v) for v in values).strip()
            confs = [float(b.get("Confidence", 0))] + [float(v.get("Confidence", 0)) for v in values]
            page_of(b)["key_values"].append({
                "key": text_of(b), "value": value_text, "confidence": clamp01(min(confs) / 100),
                "key_bbox": _bbox(b), "value_bbox": union_bbox([_bbox(v) for v in values if _bbox(v)])})

    for page in pages.values():
        page["text"] = "\n".join(ln["text"] for ln in page["lines"])
    return [pages[n] for n in sorted(pages)]


class TextractAdapter(CloudOcrAdapter):
    vendor = "textract"

    @property
    def features(self) -> list[str]:
        return sorted(self.settings.textract_features)

    def build_request(self, bucket: str, key: str, content: bytes | None) -> dict[str, Any]:
        document = {"Bytes": content} if content is not None else {"S3Object": {"Bucket": bucket, "Name": key}}
        if self.features:
            return {"operation": "analyze_document", "Document": document, "FeatureTypes": self.features}
        return {"operation": "detect_document_text", "Document": document}

    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config

            s = self.settings
            cfg = Config(retries={"total_max_attempts": 1, "mode": "standard"},  # tenacity owns retries
                         connect_timeout=min(10.0, s.request_timeout_s), read_timeout=s.request_timeout_s)
            creds = {}
            if s.aws_access_key_id and s.aws_secret_access_key:
                creds = {"aws_access_key_id": s.aws_access_key_id,
                         "aws_secret_access_key": s.aws_secret_access_key.get_secret_value()}
            self._client = boto3.client("textract", region_name=s.textract_region, endpoint_url=s.textract_endpoint_url,
                                        config=cfg, **creds)
        return self._client

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        req = dict(request)
        op = req.pop("operation")
        return getattr(self.client(), op)(**req)

    def parse(self, raw: dict[str, Any]) -> list[dict]:
        return parse_textract(raw)

    def request_id(self, raw: dict[str, Any]) -> str | None:
        return (raw.get("ResponseMetadata") or {}).get("RequestId")

    def classify(self, exc: Exception) -> Exception:
        from botocore.exceptions import (ClientError, ConnectionClosedError, ConnectTimeoutError,
                                         EndpointConnectionError, ReadTimeoutError)

        if isinstance(exc, ClientError):
            err = exc.response.get("Error", {})
            code = err.get("Code", "")
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            msg = f"textract {code or status}: {err.get('Message', '')}"
            if code in THROTTLE_CODES or status == 429:
                return ThrottledError(msg)
            if code in TRANSIENT_CODES or status >= 500:
                return TransientVendorError(msg)
            return VendorError(msg)
        if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)):
            return TransientVendorError(f"textract connection: {exc}")
        return exc
