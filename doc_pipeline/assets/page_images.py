
from dagster import AssetExecutionContext

from doc_pipeline.assets._step import StepOutput, document_asset, load_derived, page_workers_for, save_derived
from doc_pipeline.core.models import PageImages, RawDocument
from doc_pipeline.core.page_cache import remember_page
from doc_pipeline.core.parallel import ordered_map
from doc_pipeline.core.render import iter_page_images, png_bytes, prepare_rendered
from doc_pipeline.resources import DocPipelineResource


def page_image_key(doc_id: str, page_no: int) -> str:
    return f"pages/{doc_id}/{page_no}.png"


@document_asset(concurrent_documents=True, deps=["raw_pdf"], group_name="ingest", kinds={"python"},
                description="One PNG per page at a bounded DPI (pypdfium2 for PDFs, decoded frames for images), "
                            "scanned pages turned upright, deskewed and rescaled (each step recorded per page). "
                            "Written page by page, so memory stays flat. Pages with a text layer are rendered "
                            "when something needs them (DOCPIPE_NATIVE_PAGE_IMAGES=on_demand).")
def page_images(context: AssetExecutionContext, docpipe: DocPipelineResource, doc_id: str) -> StepOutput:
    store = docpipe.store()
    raw = load_derived(docpipe, "raw_pdf", doc_id, RawDocument)
    s = docpipe.settings()
    path = docpipe.local_raw_copy(raw.raw_key, raw.raw_version or raw.sha256)
    store.delete_prefix(f"pages/{doc_id}/")  # a page count that shrank leaves no orphans

    def finish(page_img):  # in the page pool: orientation/deskew/rescale, PNG encoding and the upload
        page_img = prepare_rendered(page_img, raw, s.max_page_pixels, orientation=s.ocr_orientation,
                                    deskew=s.ocr_deskew, rescale=s.ocr_rescale,
                                    upright_check=s.upright_check_resolved)
        key = page_image_key(doc_id, page_img.page_no)
        png = png_bytes(page_img)
        store.put_bytes(key, png, "image/png")
        remember_page(png, page_img.image)  # layout, OCR and tables in this process skip decoding it again
        return page_img.meta(key)

    # pages are rendered in order in this thread (pdfium is not thread-safe) and finished on all cores
    skip_native = s.native_page_images == "on_demand"
    images = list(ordered_map(finish, iter_page_images(path, raw, s.render_dpi, s.max_page_pixels,
                                                       s.max_image_pixels, s.native_render_dpi, skip_native),
                                page_workers_for(context.run.tags, s.ocr_workers)))
    save_derived(docpipe, "page_images", doc_id, PageImages(doc_id=doc_id, images=images))
    return StepOutput({"pages": len(images), "dpi": s.render_dpi, "native_dpi": s.native_render_dpi,
                       "native_on_demand": len(raw.pages) - len(images)})
