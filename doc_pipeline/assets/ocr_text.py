
from dagster import AssetExecutionContext, MaterializeResult, asset

from doc_pipeline.assets._step import load_derived, pipeline_step, save_derived
from doc_pipeline.assets.partitions import documents_partitions
from doc_pipeline.core.models import LayoutResult, OcrResult, PageImages, RawDocument
from doc_pipeline.core.page_text import PageTextReader
from doc_pipeline.db import repo
from doc_pipeline.resources import DocPipelineResource


@asset(partitions_def=documents_partitions, group_name="understand", deps=["layout_blocks"],
       kinds={"tesseract"},
       description="Page text with word boxes and confidences: native pages from the PDF text layer (read once), "
                   "scanned pages OCRed (Tesseract in-process, pages in parallel), blank pages skipped.")
def ocr_text(context: AssetExecutionContext, docpipe: DocPipelineResource) -> MaterializeResult:
    doc_id = context.partition_key
    with pipeline_step(context, docpipe, "ocr_text") as timer:
        s = docpipe.settings()
        raw = load_derived(docpipe, "raw_pdf", doc_id, RawDocument)
        imgs = load_derived(docpipe, "page_images", doc_id, PageImages)
        layout = load_derived(docpipe, "layout_blocks", doc_id, LayoutResult)
        store = docpipe.store()
        reader = PageTextReader(ocr_engine=s.ocr_engine, lang=s.ocr_lang, workers=s.ocr_workers,
                                tessdata=s.tessdata_prefix)
        pages = reader.read_document(docpipe.local_raw_copy(raw.raw_key, raw.sha256), raw, imgs, layout,
                                     load_image=store.get_bytes)
        result = OcrResult(doc_id=doc_id, pages=pages)
        save_derived(docpipe, "ocr_text", doc_id, result)
        repo.replace_pages(docpipe.db(), doc_id, pages, {i.page_no: i.key for i in imgs.images})
    conf = result.mean_conf
    return MaterializeResult(metadata={
        "pages": len(pages), "words": sum(len(p.words) for p in pages),
        "ocr_pages": sum(1 for p in pages if p.kind.value == "scanned"),
        "mean_ocr_confidence": round(conf, 4) if conf is not None else 0.0,  # 0.0: nothing was OCRed
        "seconds": round(timer.seconds, 3)})
