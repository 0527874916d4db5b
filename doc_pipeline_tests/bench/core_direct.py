"""The baseline of the burst target: one document through the core functions directly, no Dagster, no DB, no
object store (images stay in memory). The same calls, in the same order, as the assets make; if an asset's core
call changes, change it here too."""

from __future__ import annotations

from doc_pipeline.core.fields import extract_fields
from doc_pipeline.core.ingest import Limits, file_sha256, inspect_document
from doc_pipeline.core.layout import get_layout_engine, layout_options
from doc_pipeline.core.layout_native import lay_out_document, page_detector
from doc_pipeline.core.models import PageImages, RawDocument
from doc_pipeline.core.page_cache import remember_page
from doc_pipeline.core.page_text import PageTextReader
from doc_pipeline.core.render import png_bytes, prepared_page_images
from doc_pipeline.core.searchable_pdf import searchable_pdf_bytes
from doc_pipeline.core.table_stage import extract_document_tables, page_image_loader
from doc_pipeline.settings import get_settings


def process_one(path: str) -> dict:
    s = get_settings()
    doc_id = "direct"
    media, kind, pages = inspect_document(path, Limits(s.max_pages, s.max_image_pixels, s.max_page_pixels,
                                                       max_stream_bytes=s.max_stream_bytes))
    raw = RawDocument(doc_id=doc_id, raw_key=path, media_type=media, sha256=file_sha256(path), size=0, kind=kind,
                      pages=pages, source_name=path)
    images, blobs = [], {}
    for page_img in prepared_page_images(path, raw, s.render_dpi, s.max_page_pixels, s.max_image_pixels,
                                         orientation=s.ocr_orientation, deskew=s.ocr_deskew, rescale=s.ocr_rescale,
                                         native_dpi=s.native_render_dpi, upright_check=s.upright_check_resolved,
                                         skip_native=s.native_page_images == "on_demand"):
        key = f"pages/{page_img.page_no}.png"
        blobs[key] = png_bytes(page_img)
        remember_page(blobs[key], page_img.image)
        images.append(page_img.meta(key))
    imgs = PageImages(doc_id=doc_id, images=images)
    engine = get_layout_engine(s.layout_engine, **layout_options(s))

    detect = page_detector(path, raw, imgs.images, blobs.__getitem__, lambda: engine,
                           s.native_render_dpi or s.render_dpi, s.max_page_pixels)
    layout = lay_out_document(path, raw, detect, engine.name, s.native_layout)
    reader = PageTextReader(ocr_engine=s.ocr_engine, lang=s.ocr_lang, workers=s.ocr_workers, tessdata=s.tessdata_prefix,
                            recheck_below=s.ocr_recheck_below, layout_order=s.ocr_layout_order,
                            escalate_below=s.ocr_escalate_below, checkboxes=s.ocr_checkboxes)
    text_pages = reader.read_document(path, raw, imgs, layout, load_image=blobs.__getitem__)
    if s.searchable_pdf:  # ocr_text writes out/<doc_id>.pdf for scanned input
        searchable_pdf_bytes(raw, text_pages, path, imgs, blobs.__getitem__)
    tables = extract_document_tables(path, raw, text_pages,
                                     methods=tuple(m.strip() for m in s.table_methods.split(",") if m.strip()),
                                     merge_pages=s.table_merge_pages, page_image=page_image_loader(imgs, blobs.__getitem__),
                                     structure_model=s.table_structure_model)
    fields = extract_fields(text_pages, tables)
    return {"path": path, "pages": len(text_pages), "kind": kind.value, "tables": len(tables),
            "fields": len(fields.fields)}
