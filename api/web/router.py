"""Routes of the review UI: the HTML pages (shells; every datum is fetched by the browser with the reviewer's
token through the ordinary API, so the pages themselves hold nothing secret) and the page-image endpoint."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from doc_pipeline.auth import Principal
from doc_pipeline.core.fields.schema import SENSITIVE_FIELDS
from doc_pipeline.core.masking import mask_text, unmasked_roles
from doc_pipeline.core.models import BBox, ExtractedField, Page, PageImages
from doc_pipeline.results import page_image_png, read_derived
from doc_pipeline.settings import get_settings

from api.deps import Ctx, current_principal, get_ctx, load_document
from api.schemas import ErrorBody
from api.services import audit, results

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
STATIC_PREFIX = "/static/web"
_DOC_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

router = APIRouter()
templates = Jinja2Templates(directory=str(HERE / "templates"))


def _asset_version() -> str:
    # cache-busting query for the static files: changes whenever their content does
    h = hashlib.sha256()
    for p in sorted(STATIC_DIR.glob("*")):
        h.update(p.read_bytes())
    return h.hexdigest()[:10]


templates.env.globals.update(static=STATIC_PREFIX, asset_version=_asset_version())


def _page(request: Request, template: str, **context) -> HTMLResponse:
    resp = templates.TemplateResponse(request, template, context)
    # the shells are public; the data comes from the API with a token, so never let a page be framed
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Content-Security-Policy"] = ("default-src 'self'; img-src 'self' blob: data:; "
                                               "style-src 'self'; script-src 'self'; frame-ancestors 'none'")
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


def _doc_id_or_404(doc_id: str) -> str:
    if not _DOC_ID_RE.match(doc_id):
        raise HTTPException(status_code=404, detail="document not found")
    return doc_id


@router.get("/review", response_class=HTMLResponse, include_in_schema=False)
def review_queue(request: Request) -> HTMLResponse:
    return _page(request, "queue.html", title="Review queue")


@router.get("/review/{doc_id}", response_class=HTMLResponse, include_in_schema=False)
def review_document(request: Request, doc_id: str) -> HTMLResponse:
    return _page(request, "document.html", title="Review", doc_id=_doc_id_or_404(doc_id), mode="review")


@router.get("/view/{doc_id}", response_class=HTMLResponse, include_in_schema=False)
def view_document(request: Request, doc_id: str) -> HTMLResponse:
    return _page(request, "document.html", title="Document", doc_id=_doc_id_or_404(doc_id), mode="view")


@router.get("/ui", include_in_schema=False)
def ui_home() -> RedirectResponse:
    return RedirectResponse("/review")


# ---- page images ----------------------------------------------------------------------------------------------


def sensitive_boxes(page: Page, fields: list[ExtractedField]) -> list[BBox]:
    """Boxes on ``page`` that show a sensitive identifier: the boxes of sensitive fields, plus every word that
    masking changes when its whole line is masked (an IBAN is split over several words, so words one by one would
    not look like one)."""
    boxes: list[BBox] = [f.bbox for f in fields
                         if f.name in SENSITIVE_FIELDS and f.page_no == page.page_no and f.bbox]
    lines: dict[tuple[int, int], list] = {}
    for w in page.words:
        lines.setdefault((w.block, w.line), []).append(w)
    for words in lines.values():
        text, spans = "", []
        for w in words:
            start = len(text) + (1 if text else 0)
            text = f"{text} {w.text}" if text else w.text
            spans.append((start, len(text)))
        masked = mask_text(text)
        if masked == text:
            continue
        if len(masked) != len(text):  # cannot map back to words: hide the whole line
            boxes += [w.bbox for w in words]
            continue
        boxes += [w.bbox for w, (a, b) in zip(words, spans) if masked[a:b] != text[a:b]]
    return boxes


def redact_png(png: bytes, page: Page, boxes: list[BBox]) -> bytes:
    """Paint ``boxes`` (PDF points, origin top-left) black on the page image."""
    from PIL import Image, ImageDraw

    img = Image.open(io.BytesIO(png))
    img.load()
    sx, sy = img.width / page.width, img.height / page.height  # image px per PDF point
    draw = ImageDraw.Draw(img)
    black = 0 if img.mode in ("L", "1", "P") else (0, 0, 0)
    for x0, y0, x1, y1 in boxes:
        draw.rectangle([x0 * sx - 2, y0 * sy - 2, x1 * sx + 2, y1 * sy + 2], fill=black)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


@router.get("/result/{doc_id}/pages/{n}.png", tags=["results"], response_class=Response,
            responses={200: {"content": {"image/png": {}}, "description": "the rendered page image"},
                       404: {"model": ErrorBody}}, summary="The rendered image of page n (1-based)")
def page_image(doc_id: str, request: Request, n: int = PathParam(ge=1, le=100_000, description="page number (1-based)"),
               principal: Principal = Depends(current_principal), ctx: Ctx = Depends(get_ctx)) -> Response:
    """The PNG the pipeline rendered for page `n`, or for a page with a text layer rendered on demand (its DPI is in
    the `X-Page-DPI` header and, for stored pages, in `derived/page_images/<doc_id>.json`; boxes of the
    result scale to it by image pixels / page points). Same access rules as the result, and audited. For roles that
    see masked values, the sensitive identifiers on the image are painted over."""
    load_document(ctx, principal, doc_id)
    images = read_derived(ctx.store, "page_images", doc_id, PageImages)
    if images is None:
        raise HTTPException(status_code=404, detail="no page images for this document (yet)")
    s = get_settings()
    try:
        found = page_image_png(ctx.store, images, n, s.native_render_dpi or s.render_dpi, s.max_page_pixels)
    except KeyError as exc:
        raise HTTPException(status_code=404, detail=f"page {n} image not found in the object store") from exc
    if found is None:
        raise HTTPException(status_code=404, detail=f"page {n} not found")
    png, dpi = found
    redacted = 0
    if principal.role not in unmasked_roles():
        res = results.build(doc_id, ctx.store, ctx.db)
        page = next((p for p in res.pages if p.page_no == n), None)
        if page is not None and page.width > 0 and page.height > 0:
            boxes = sensitive_boxes(page, res.fields)
            if boxes:
                png, redacted = redact_png(png, page, boxes), len(boxes)
    audit.record(ctx.db, request, principal, "result.page_image", doc_id, {"page": n, "redacted_boxes": redacted})
    return Response(content=png, media_type="image/png",
                    headers={"Cache-Control": "private, max-age=300", "X-Page-DPI": str(dpi)})
