
import io

from dagster import AssetExecutionContext, MaterializeResult, asset

from doc_pipeline.assets._step import load_derived, pipeline_step, save_derived
from doc_pipeline.assets.partitions import documents_partitions
from doc_pipeline.core.models import PageImages, RawDocument
from doc_pipeline.core.render import iter_page_images
from doc_pipeline.resources import DocPipelineResource


def page_image_key(doc_id: str, page_no: int) -> str:
    return f"pages/{doc_id}/{page_no}.png"


@asset(partitions_def=documents_partitions, group_name="ingest", deps=["raw_pdf"], kinds={"python"},
       description="One PNG per page at a bounded DPI (pypdfium2 for PDFs, decoded frames for images), with the "
                   "preprocessing applied recorded per page. Written page by page, so memory stays flat.")
def page_images(context: AssetExecutionContext, docpipe: DocPipelineResource) -> MaterializeResult:
    doc_id = context.partition_key
    store = docpipe.store()
    with pipeline_step(context, docpipe, "page_images") as timer:
        raw = load_derived(docpipe, "raw_pdf", doc_id, RawDocument)
        s = docpipe.settings()
        path = docpipe.local_raw_copy(raw.raw_key, raw.sha256)
        store.delete_prefix(f"pages/{doc_id}/")  # a page count that shrank leaves no orphans
        images = []
        for page_img in iter_page_images(path, raw, s.render_dpi, s.max_page_pixels, s.max_image_pixels):
            buf = io.BytesIO()
            page_img.image.save(buf, format="PNG", compress_level=1, dpi=(page_img.dpi, page_img.dpi))
            key = page_image_key(doc_id, page_img.page_no)
            store.put_bytes(key, buf.getvalue(), "image/png")
            images.append(page_img.meta(key))
        save_derived(docpipe, "page_images", doc_id, PageImages(doc_id=doc_id, images=images))
    return MaterializeResult(metadata={"pages": len(images), "dpi": s.render_dpi, "seconds": round(timer.seconds, 3)})
