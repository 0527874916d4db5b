"""The public result of a document, masked for the caller's role."""

from __future__ import annotations

from doc_pipeline.core.masking import mask_fields, mask_text, mask_words, unmasked_roles
from doc_pipeline.core.models import DocumentResult
from doc_pipeline.db import Database
from doc_pipeline.results import build_result
from doc_pipeline.storage import ObjectStore


def build(doc_id: str, store: ObjectStore, db: Database) -> DocumentResult:
    res = build_result(doc_id, store, db)
    res.meta["viewer_url"] = f"/view/{doc_id}"  # the read-only page viewer of the review UI (api/web)
    return res


def masked(result: DocumentResult, role: str) -> DocumentResult:
    """IBANs and account numbers cut to their last four characters, in fields and in page text/words, unless the
    role may see them (admin, plus DOCPIPE_UNMASKED_ROLES: the policy lives in doc_pipeline.core.masking)."""
    if role in unmasked_roles():
        return result
    pages = [p.model_copy(update={"text": mask_text(p.text),
                                  "words": mask_words(p.words)})
             for p in result.pages]
    return result.model_copy(update={"fields": mask_fields(result.fields, role), "pages": pages})
