from dagster import AssetExecutionContext, Failure, MetadataValue

from doc_pipeline.assets._step import StepOutput, document_asset, save_derived
from doc_pipeline.core.ingest import Limits, file_sha256, inspect_document
from doc_pipeline.core.models import RawDocument
from doc_pipeline.db import repo
from doc_pipeline.resources import DocPipelineResource


@document_asset(concurrent_documents=True, deps=[], group_name="ingest", kinds={"python"},
                description="The uploaded file, identified by content (not extension), opened safely and classified "
                            "page by page as native (usable text layer), scanned (needs OCR) or blank. Bad input "
                            "fails here with a reason on the document.")
def raw_pdf(context: AssetExecutionContext, docpipe: DocPipelineResource, doc_id: str) -> StepOutput:
    db = docpipe.db()
    doc = repo.get_document(db, doc_id)
    if doc is None:
        raise Failure(description=f"unknown document {doc_id}: it has no row in the documents table", allow_retries=False)
    s = docpipe.settings()
    path = docpipe.local_raw_copy(doc.raw_key, doc.raw_version)
    media, kind, pages = inspect_document(path, Limits(s.max_pages, s.max_image_pixels, s.max_page_pixels,
                                                       max_stream_bytes=s.max_stream_bytes))
    info = docpipe.store().stat(doc.raw_key)
    raw = RawDocument(doc_id=doc_id, raw_key=doc.raw_key, raw_version=doc.raw_version or "", media_type=media,
                      sha256=file_sha256(path), size=info.size if info else 0, kind=kind, pages=pages,
                      source_name=doc.source_name or "")
    save_derived(docpipe, "raw_pdf", doc_id, raw)
    repo.update_document(db, doc_id, media_type=media, sha256=raw.sha256, size=raw.size, kind=kind.value,
                         page_count=len(pages), error=None)
    counts = {k: sum(1 for p in pages if p.kind.value == k) for k in ("native", "scanned", "blank")}
    return StepOutput({"pages": len(pages), "kind": kind.value, "media_type": media,
                       "page_kinds": MetadataValue.json(counts)})
