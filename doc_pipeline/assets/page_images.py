
import io

from dagster import AssetExecutionContext

from doc_pipeline.assets._step import StepOutput, document_asset, load_derived, save_derived
from doc_pipeline.core.models import PageImages, PageKind, RawDocument
from doc_pipeline.core.preprocess import prepare_scanned_page
from doc_pipeline.core.render import iter_page_images
from doc_pipeline.resources import DocPipelineResource


def page_image_key(doc_id: str, page_no: int) -> str:
    return f"pages/{doc_id}/{page_no}.png"


@document_asset(deps=["raw_pdf"], group_name="ingest", kinds={"python"},
                description="One PNG per page at a bounded DPI (pypdfium2 for PDFs, decoded frames for images), "
                            "scanned pages turned upright, deskewed and rescaled (each step recorded per page). "
                            "Written page by page, so memory stays flat.")
def page_images(context: AssetExecutionContext, docpipe: DocPipelineResource, doc_id: str) -> StepOutput:
    store = docpipe.store()
    raw = load_derived(docpipe, "raw_pdf", doc_id, RawDocument)
    s = docpipe.settings()
    path = docpipe.local_raw_copy(raw.raw_key, raw.sha256)
    store.delete_prefix(f"pages/{doc_id}/")  # a page count that shrank leaves no orphans
    images = []
    kinds = {p.page_no: p.kind for p in raw.pages}
    for page_img in iter_page_images(path, raw, s.render_dpi, s.max_page_pixels, s.max_image_pixels):
        if kinds.get(page_img.page_no) == PageKind.scanned:  # orientation, deskew, scale (docs/OCR.md)
            prepared = prepare_scanned_page(page_img.image, page_img.dpi, orientation=s.ocr_orientation,
                                            deskew_pages=s.ocr_deskew, rescale=s.ocr_rescale,
                                            max_pixels=s.max_page_pixels)
            page_img.image, page_img.dpi = prepared.image, prepared.dpi
            page_img.preprocessing = [*page_img.preprocessing, *prepared.steps]
        buf = io.BytesIO()
        page_img.image.save(buf, format="PNG", compress_level=1, dpi=(page_img.dpi, page_img.dpi))
        key = page_image_key(doc_id, page_img.page_no)
        store.put_bytes(key, buf.getvalue(), "image/png")
        images.append(page_img.meta(key))
    save_derived(docpipe, "page_images", doc_id, PageImages(doc_id=doc_id, images=images))
    return StepOutput({"pages": len(images), "dpi": s.render_dpi})
