"""Uploads: multipart POST, presigned PUT (S3 URL, or this API's own PUT with a short-lived upload token)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from doc_pipeline.auth import AuthError, Principal, mint_upload_token, verify_upload_token
from doc_pipeline.core.sniff import EXTENSIONS
from doc_pipeline.db import Document
from doc_pipeline.db.repo import now

from api.deps import Ctx, get_ctx, require_roles
from api.schemas import ErrorBody, PresignRequest, PresignResponse, UploadAccepted
from api.services import audit, uploads

router = APIRouter(tags=["uploads"])
uploaders = require_roles("uploader", "admin")

_UPLOAD_ERRORS = {
    413: {"model": ErrorBody, "description": "over DOCPIPE_MAX_UPLOAD_BYTES, DOCPIPE_MAX_PAGES or the pixel limit"},
    415: {"model": ErrorBody, "description": "not a PDF, PNG, JPEG or TIFF (judged by content, not by name)"},
    422: {"model": ErrorBody, "description": "empty, encrypted or damaged file"},
}


def _accepted(doc: Document) -> UploadAccepted:
    return UploadAccepted(doc_id=doc.doc_id, status=doc.status, raw_key=doc.raw_key, media_type=doc.media_type,
                          size=doc.size, source_name=doc.source_name, status_url=f"/status/{doc.doc_id}",
                          result_url=f"/result/{doc.doc_id}")


@router.post("/upload", status_code=201, response_model=list[UploadAccepted], responses=_UPLOAD_ERRORS,
             summary="Upload one or more documents (multipart) with metadata")
def upload_many(request: Request,
                files: list[UploadFile] = File(description="one or more PDF, PNG, JPEG or TIFF files"),
                source: str | None = Form(default=None, max_length=48, examples=["loan-portal"]),
                applicant_id: str | None = Form(default=None, max_length=128, examples=["A-1001"]),
                doc_type: str | None = Form(default=None, max_length=32, examples=["pay_stub"]),
                principal: Principal = Depends(uploaders), ctx: Ctx = Depends(get_ctx)) -> list[UploadAccepted]:
    """Every file is checked first (by content); if any is refused, none is stored and the error names the
    file. Each accepted file gets its own doc_id, `status_url` and `result_url`."""
    checked = []
    for f in files:
        try:
            checked.append((f, *uploads.validate_content(f.file, ctx.settings)))
        except HTTPException as exc:
            raise HTTPException(status_code=exc.status_code,
                                detail=f"{uploads.sanitise_filename(f.filename) or 'file'}: {exc.detail}") from exc
    accepted = []
    for f, media, size in checked:
        doc = uploads.store_upload(ctx, f.file, media, size, doc_id=uploads.new_doc_id(), owner=principal.sub,
                                   source_name=uploads.sanitise_filename(f.filename),
                                   applicant_id=uploads.clean_label(applicant_id, 128),
                                   doc_type_hint=uploads.clean_label(doc_type, 32))
        audit.record(ctx.db, request, principal, "document.upload", doc.doc_id,
                     {"source_name": doc.source_name, "size": size, "media_type": media,
                      "source": uploads.clean_label(source, 48)})
        accepted.append(_accepted(doc))
    return accepted


@router.post("/uploads", status_code=201, response_model=UploadAccepted, responses=_UPLOAD_ERRORS,
             summary="Upload a document (multipart)")
def upload(request: Request,
           file: UploadFile = File(description="PDF, PNG, JPEG or TIFF"),
           applicant_id: str | None = Form(default=None, max_length=128, examples=["A-1001"]),
           doc_type_hint: str | None = Form(default=None, max_length=32, examples=["pay_stub"]),
           principal: Principal = Depends(uploaders), ctx: Ctx = Depends(get_ctx)) -> UploadAccepted:
    """Stores the file under `raw/<doc_id>.<ext>` and queues it; the pipeline's raw/ sensor picks it up.
    Poll `GET /status/{doc_id}`."""
    media, size = uploads.validate_content(file.file, ctx.settings)
    doc = uploads.store_upload(ctx, file.file, media, size, doc_id=uploads.new_doc_id(), owner=principal.sub,
                               source_name=uploads.sanitise_filename(file.filename),
                               applicant_id=uploads.clean_label(applicant_id, 128),
                               doc_type_hint=uploads.clean_label(doc_type_hint, 32))
    audit.record(ctx.db, request, principal, "document.upload", doc.doc_id,
                 {"source_name": doc.source_name, "size": size, "media_type": media})
    return _accepted(doc)


@router.post("/uploads/presign", response_model=PresignResponse, summary="Get a URL to PUT a document to")
def presign(request: Request, body: PresignRequest, principal: Principal = Depends(uploaders),
            ctx: Ctx = Depends(get_ctx)) -> PresignResponse:
    """With S3 storage: a presigned S3 PUT URL for `raw/<doc_id>.<ext>` (the bytes go straight to the bucket; the
    pipeline checks them). With the local store: this API's `PUT /uploads/{doc_id}?token=...`, which validates
    like `POST /uploads`. The document row is created now, so the pipeline keeps this doc_id."""
    doc_id = uploads.new_doc_id()
    name = uploads.sanitise_filename(body.filename)
    ext = (name or "").rsplit(".", 1)[-1].lower() if name and "." in name else "pdf"
    ext = {"jpeg": "jpg", "tiff": "tif"}.get(ext, ext)
    media = next((m for m, e in EXTENSIONS.items() if e == ext), "application/pdf")
    raw_key = uploads.raw_key_for(doc_id, media)
    ttl = ctx.auth.upload_token_ttl_s
    url = ctx.store.presign_put(raw_key, expires=ttl, content_type=media)
    headers = {"Content-Type": media}
    if url is None:
        token = mint_upload_token(doc_id, principal.sub, principal.role, ttl)
        url = f"{ctx.settings.api_base_url.rstrip('/')}/uploads/{doc_id}?token={token}"
    with ctx.db.session() as s:
        s.add(Document(doc_id=doc_id, raw_key=raw_key, source="api", status="queued", owner=principal.sub,
                       applicant_id=uploads.clean_label(body.applicant_id, 128), media_type=media,
                       doc_type_hint=uploads.clean_label(body.doc_type_hint, 32), source_name=name, flagged=False,
                       created_at=now(), updated_at=now()))
    audit.record(ctx.db, request, principal, "document.presign", doc_id, {"source_name": name})
    return PresignResponse(doc_id=doc_id, url=url, raw_key=raw_key, expires_in=ttl, headers=headers)


@router.put("/uploads/{doc_id}", status_code=201, response_model=UploadAccepted,
            responses={401: {"model": ErrorBody}, 409: {"model": ErrorBody}, **_UPLOAD_ERRORS},
            summary="PUT the bytes of a presigned upload (local store)",
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
async def put_upload(doc_id: str, request: Request,
                     token: str = Query(description="the upload token from POST /uploads/presign"),
                     ctx: Ctx = Depends(get_ctx)) -> UploadAccepted:
    """The request body is the file itself (`curl -T file.pdf`)."""
    try:
        principal = verify_upload_token(token, doc_id, ctx.auth)
    except AuthError as exc:
        raise HTTPException(status_code=401, detail=str(exc)) from exc
    doc = await run_in_threadpool(_pending_document, ctx, doc_id)
    spool = await uploads.spool_stream(request.stream(), ctx.settings.max_upload_bytes)
    try:
        media, size = await run_in_threadpool(uploads.validate_content, spool, ctx.settings)
        stored = await run_in_threadpool(
            lambda: uploads.store_upload(ctx, spool, media, size, doc_id=doc_id, owner=principal.sub,
                                         source_name=doc.source_name, applicant_id=None, doc_type_hint=None))
    finally:
        spool.close()
    await run_in_threadpool(audit.record, ctx.db, request, principal, "document.upload", doc_id,
                            {"size": size, "media_type": media, "via": "presigned"})
    return _accepted(stored)


def _pending_document(ctx: Ctx, doc_id: str) -> Document:
    with ctx.db.session() as s:
        doc = s.get(Document, doc_id)
    if doc is None:
        raise HTTPException(status_code=404, detail="document not found")
    if doc.size is not None or ctx.store.exists(doc.raw_key):
        raise HTTPException(status_code=409, detail="this document was already uploaded; raw files are never "
                                                    "replaced (ask for a new presigned URL)")
    return doc
