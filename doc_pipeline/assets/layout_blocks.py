from dagster import AssetExecutionContext, MetadataValue

from doc_pipeline.assets._step import StepOutput, document_asset, load_derived, page_workers_for, save_derived
from doc_pipeline.core.layout import get_layout_engine, layout_options
from doc_pipeline.core.models import LayoutResult, PageImages
from doc_pipeline.core.page_cache import open_page
from doc_pipeline.core.parallel import ordered_map
from doc_pipeline.resources import DocPipelineResource


@document_asset(concurrent_documents=True, deps=["page_images"], group_name="understand", kinds={"onnx"},
                description="Layout blocks per page from the offline layout model (rapid-layout, ONNX), mapped to "
                            "the PubLayNet classes text/title/list/table/figure (+ header/footer), split into "
                            "paragraphs and lists from the image, in column-aware reading order.")
def layout_blocks(context: AssetExecutionContext, docpipe: DocPipelineResource, doc_id: str) -> StepOutput:
    imgs = load_derived(docpipe, "page_images", doc_id, PageImages)
    s = docpipe.settings()
    options = layout_options(s)
    store = docpipe.store()

    def detect(pi):  # in the page pool; one engine per thread (ONNX Runtime with one intra-op thread each)
        with open_page(store.get_bytes(pi.key)) as img:
            return pi.page_no, get_layout_engine(s.layout_engine, **options).detect(img, pi.dpi)

    pages = dict(ordered_map(detect, imgs.images, page_workers_for(context.run.tags, s.ocr_workers)))
    save_derived(docpipe, "layout_blocks", doc_id, LayoutResult(doc_id=doc_id, pages=pages, engine=s.layout_engine))
    counts: dict[str, int] = {}
    for blocks in pages.values():
        for b in blocks:
            counts[b.type] = counts.get(b.type, 0) + 1
    return StepOutput({"blocks": sum(counts.values()), "block_types": MetadataValue.json(counts)})
