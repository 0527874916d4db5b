"""GET /result/{doc_id} and its downloads (table CSVs, searchable PDF). Every read is audited."""

from __future__ import annotations

import tempfile

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from doc_pipeline.auth import Principal
from doc_pipeline.core.models import DocumentResult
from doc_pipeline.db import TableRow
from doc_pipeline.storage import ObjectStore

from api.deps import Ctx, current_principal, get_ctx, load_document
from api.schemas import ErrorBody
from api.services import audit, results

router = APIRouter(tags=["results"])
_CHUNK = 1 << 20


@router.get("/result/{doc_id}", response_model=DocumentResult, responses={404: {"model": ErrorBody}},
            summary="The extracted result of one document")
def result(doc_id: str, request: Request, principal: Principal = Depends(current_principal),
           ctx: Ctx = Depends(get_ctx)) -> DocumentResult:
    """Pages (text, words with boxes and confidences, layout blocks), typed fields with provenance, tables and
    flags. Boxes are `[x0, y0, x1, y1]` in PDF points, origin top-left. IBANs and account numbers are masked to
    their last four characters unless the caller's role is allowed to see them (admin, plus DOCPIPE_UNMASKED_ROLES)."""
    load_document(ctx, principal, doc_id)
    res = results.build(doc_id, ctx.store, ctx.db)
    audit.record(ctx.db, request, principal, "result.read", doc_id)
    return results.masked(res, principal.role)


def _stream(store: ObjectStore, key: str):
    """Stream an object in chunks via a temp file (works the same for the local folder and S3)."""
    tmp = tempfile.NamedTemporaryFile(prefix="docpipe-dl-")
    try:
        store.download_to(key, tmp.name)
    except BaseException:
        tmp.close()
        raise

    def chunks():
        with tmp:
            with open(tmp.name, "rb") as fh:
                while data := fh.read(_CHUNK):
                    yield data

    return chunks()


@router.get("/result/{doc_id}/tables/{n}.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}, "description": "the table as CSV"},
                       404: {"model": ErrorBody}}, summary="Download one extracted table as CSV")
def table_csv(doc_id: str, request: Request, n: int = Path(ge=0, le=100_000, description="table index (0-based)"), principal: Principal = Depends(current_principal),
              ctx: Ctx = Depends(get_ctx)):
    load_document(ctx, principal, doc_id)
    with ctx.db.session() as s:
        row = s.scalars(select(TableRow).where(TableRow.doc_id == doc_id, TableRow.table_index == n)).first()
    if row is None or not row.csv_key:
        raise HTTPException(status_code=404, detail=f"table {n} not found")
    try:
        body = _stream(ctx.store, row.csv_key)
    except KeyError as exc:
        raise HTTPException(status_code=404, detail=f"table {n} not found in the object store") from exc
    audit.record(ctx.db, request, principal, "result.table_download", doc_id, {"table": n})
    return StreamingResponse(body, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{doc_id}-table-{n}.csv"'})


@router.get("/result/{doc_id}/pdf", response_class=StreamingResponse,
            responses={200: {"content": {"application/pdf": {}}, "description": "searchable PDF"},
                       404: {"model": ErrorBody}}, summary="Download the searchable PDF (text layer added)")
def searchable_pdf(doc_id: str, request: Request, principal: Principal = Depends(current_principal),
                   ctx: Ctx = Depends(get_ctx)):
    load_document(ctx, principal, doc_id)
    try:
        body = _stream(ctx.store, f"out/{doc_id}.pdf")
    except KeyError as exc:
        raise HTTPException(status_code=404, detail="no searchable PDF for this document (yet)") from exc
    audit.record(ctx.db, request, principal, "result.pdf_download", doc_id)
    return StreamingResponse(body, media_type="application/pdf",
                             headers={"Content-Disposition": f'attachment; filename="{doc_id}.pdf"'})
