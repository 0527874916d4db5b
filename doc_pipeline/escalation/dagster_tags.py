"""Names the Dagster wiring uses to bound paid OCR (constants only: no Dagster import here).

- Runs expected to escalate carry the run tag PAID_OCR_TAG=PAID_OCR_TAG_VALUE; dagster.yaml's queued run
  coordinator limits them with tag_concurrency_limits: [{key: "docpipe/paid_ocr", value: "true", limit: N}].
- The step that calls the vendor runs in the concurrency pool PAID_OCR_POOL (`@asset(pool=PAID_OCR_POOL)`, limit set
  with `dagster instance concurrency set docpipe_paid_ocr N` or `concurrency: pools:` in dagster.yaml), which also
  bounds runs that only discover at run time that they must escalate.
"""

from __future__ import annotations

from typing import Any

PAID_OCR_TAG = "docpipe/paid_ocr"
PAID_OCR_TAG_VALUE = "true"
PAID_OCR_POOL = "docpipe_paid_ocr"


def paid_ocr_run_tags() -> dict[str, str]:
    return {PAID_OCR_TAG: PAID_OCR_TAG_VALUE}


def likely_to_escalate(doc_meta: dict[str, Any] | None, settings=None) -> bool:
    """What a sensor can know before the run: escalation on, and the upload is flagged high priority or hints a
    high-value doc type. Such runs get paid_ocr_run_tags()."""
    from doc_pipeline.escalation.settings import get_escalation_settings

    s = settings or get_escalation_settings()
    if not s.enabled or not doc_meta:
        return False
    meta = {**(doc_meta.get("metadata") or {}), **doc_meta}
    if str(meta.get("priority", "")).lower() == "high":
        return True
    return (meta.get("doc_type_hint") or meta.get("doc_type")) in s.high_value_doc_types
