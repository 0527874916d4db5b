"""Assemble the public result (core.models.DocumentResult) of one document from the DB and derived/ JSON."""

from __future__ import annotations

from sqlalchemy import select

from doc_pipeline.core.models import (STEPS, DocumentResult, FieldsResult, Flag, OcrResult, PageImages, RawDocument,
                                      StepInfo, TablesResult)
from doc_pipeline.db.models import Document, StepCheckpoint
from doc_pipeline.db.session import Database
from doc_pipeline.storage import ObjectStore


class DocumentNotFound(KeyError):
    pass


def derived_key(asset: str, doc_id: str) -> str:
    """Where each stage keeps its output for a document (inspectable, re-loadable)."""
    return f"derived/{asset}/{doc_id}.json"


def read_derived(store: ObjectStore, asset: str, doc_id: str, model):
    """A stage's output for a document, or None when that stage has not run for it."""
    try:
        return model.model_validate_json(store.get_bytes(derived_key(asset, doc_id)))
    except KeyError:
        return None


def page_image_png(store: ObjectStore, images: PageImages, page_no: int, native_dpi: int,
                   max_page_pixels: int) -> tuple[bytes, int] | None:
    """(PNG, DPI) of page `page_no` as the review page shows it, or None when there is none: the one page_images
    wrote (`images`, its record of the document), else, for a page with a text layer it left to be rendered on
    demand, rendered from the raw PDF now at `native_dpi` and kept in the store next to the others (keyed by the raw
    file's digest, so a new version of the file never shows an old rendering; page_images' next run clears them)."""
    from doc_pipeline.core.models import PageKind

    doc_id = images.doc_id
    stored = next((i for i in images.images if i.page_no == page_no), None)
    if stored is not None:
        return store.get_bytes(stored.key), stored.dpi
    raw = read_derived(store, "raw_pdf", doc_id, RawDocument)
    info = next((p for p in raw.pages if p.page_no == page_no), None) if raw is not None else None
    if info is None or info.kind != PageKind.native or raw.media_type != "application/pdf":
        return None
    from doc_pipeline.core.render import bounded_dpi, png_bytes, render_page_on_demand

    dpi = bounded_dpi(info.width, info.height, native_dpi, max_page_pixels)
    key = f"pages/{doc_id}/{page_no}.{raw.sha256[:16]}.{dpi}.png"
    try:
        return store.get_bytes(key), dpi
    except KeyError:
        pass
    page = render_page_on_demand(store.get_bytes(raw.raw_key), info, native_dpi, max_page_pixels)
    png = png_bytes(page)
    store.put_bytes(key, png, "image/png")
    return png, page.dpi


def step_infos(db: Database, doc_id: str) -> list[StepInfo]:
    with db.session() as s:
        rows = {r.step: r for r in s.scalars(select(StepCheckpoint).where(StepCheckpoint.doc_id == doc_id))}
    return [StepInfo(step=step, status=rows[step].status if step in rows else "pending",
                     run_id=rows[step].run_id if step in rows else None,
                     started_at=rows[step].started_at if step in rows else None,
                     finished_at=rows[step].finished_at if step in rows else None,
                     seconds=rows[step].seconds if step in rows else None,
                     error=rows[step].error if step in rows else None) for step in STEPS]


def build_result(doc_id: str, store: ObjectStore, db: Database) -> DocumentResult:
    with db.session() as s:
        doc = s.get(Document, doc_id)
    if doc is None:
        raise DocumentNotFound(doc_id)
    raw = read_derived(store, "raw_pdf", doc_id, RawDocument)
    # pages re-read by a cloud OCR service (escalation) replace the local OCR of the same document
    ocr = read_derived(store, "escalated_pages", doc_id, OcrResult) or read_derived(store, "ocr_text", doc_id, OcrResult)
    flds = read_derived(store, "fields", doc_id, FieldsResult)
    tbls = read_derived(store, "tables", doc_id, TablesResult)
    steps = step_infos(db, doc_id)
    flags = [Flag(**f) for f in (doc.flag_reasons or [])]
    return DocumentResult(
        doc_id=doc_id, status=doc.status, kind=raw.kind if raw else None, doc_type=doc.doc_type,
        source_name=doc.source_name, error=doc.error, pages=ocr.pages if ocr else [],
        fields=flds.fields if flds else [], tables=tbls.tables if tbls else [], flags=flags, steps=steps,
        meta={"media_type": doc.media_type, "sha256": doc.sha256, "size": doc.size, "page_count": doc.page_count,
              "applicant_id": doc.applicant_id, "processing_seconds": doc.processing_seconds,
              "timings": {st.step: st.seconds for st in steps if st.seconds is not None},
              "run_ids": sorted({st.run_id for st in steps if st.run_id}),
              "created_at": doc.created_at.isoformat() if doc.created_at else None,
              "page_kinds": {p.page_no: p.reason for p in raw.pages} if raw else {}})


def search_doc(doc: Document, pages, fields, doc_type: str | None):
    """The search entry of a document: page text and field values, bank numbers masked."""
    from doc_pipeline.core.masking import mask_fields, mask_text
    from doc_pipeline.search import SearchDoc

    return SearchDoc(doc_id=doc.doc_id, text=mask_text("\n\n".join(p.text for p in pages)), doc_type=doc_type,
                     applicant_id=doc.applicant_id, owner=doc.owner, source_name=doc.source_name,
                     created_at=doc.created_at, fields={f.name: f.value for f in mask_fields(fields, role=None)})
