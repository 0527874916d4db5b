
from dagster import AssetExecutionContext

from doc_pipeline.assets._step import StepOutput, document_asset, load_derived, page_workers_for, save_derived
from doc_pipeline.core.models import LayoutResult, OcrResult, PageImages, RawDocument
from doc_pipeline.core.page_text import PageTextReader
from doc_pipeline.core.searchable_pdf import searchable_pdf_bytes
from doc_pipeline.db import repo
from doc_pipeline.resources import DocPipelineResource


@document_asset(concurrent_documents=True, deps=["layout_blocks"], group_name="understand", kinds={"onnx", "tesseract"},
                description="Page text with word boxes and confidences: native pages from the PDF text layer (read "
                            "once), scanned pages OCRed (DOCPIPE_OCR_ENGINE: tesseract, rapidocr, or fusion = RapidOCR "
                            "with Tesseract re-reading unsure lines; pages in parallel; reading order along "
                            "layout_blocks), blank pages skipped. DOCPIPE_SEARCHABLE_PDF: also out/<doc_id>.pdf.")
def ocr_text(context: AssetExecutionContext, docpipe: DocPipelineResource, doc_id: str) -> StepOutput:
    s = docpipe.settings()
    raw = load_derived(docpipe, "raw_pdf", doc_id, RawDocument)
    imgs = load_derived(docpipe, "page_images", doc_id, PageImages)
    layout = load_derived(docpipe, "layout_blocks", doc_id, LayoutResult)
    store = docpipe.store()
    reader = PageTextReader(ocr_engine=s.ocr_engine, lang=s.ocr_lang,
                            workers=page_workers_for(context.run.tags, s.ocr_workers),
                            tessdata=s.tessdata_prefix, recheck_below=s.ocr_recheck_below,
                            layout_order=s.ocr_layout_order, escalate_below=s.ocr_escalate_below,
                            checkboxes=s.ocr_checkboxes)
    raw_path = docpipe.local_raw_copy(raw.raw_key, raw.raw_version or raw.sha256)
    pages = reader.read_document(raw_path, raw, imgs, layout, load_image=store.get_bytes)
    pdf = searchable_pdf_bytes(raw, pages, raw_path, imgs, store.get_bytes) if s.searchable_pdf else None
    if pdf is not None:
        store.put_bytes(f"out/{doc_id}.pdf", pdf, "application/pdf")
    else:
        store.delete(f"out/{doc_id}.pdf")  # no stale searchable PDF from an earlier configuration
    result = OcrResult(doc_id=doc_id, pages=pages)
    save_derived(docpipe, "ocr_text", doc_id, result)
    repo.replace_pages(docpipe.db(), doc_id, pages, {i.page_no: i.key for i in imgs.images})
    conf = result.mean_conf
    return StepOutput({"pages": len(pages), "words": sum(len(p.words) for p in pages),
                       "ocr_pages": sum(1 for p in pages if p.kind.value == "scanned"),
                       "mean_ocr_confidence": round(conf, 4) if conf is not None else 0.0,  # 0.0: nothing OCRed
                       "searchable_pdf": pdf is not None})
