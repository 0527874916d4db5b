"""The review UI for people: server-rendered pages (Jinja2) plus one small vanilla JS file, served by the API.

`install(app)` adds the page routes, the page-image endpoint and the static assets (no CDN at run time)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.web.router import STATIC_DIR, STATIC_PREFIX, router

__all__ = ["install", "router", "STATIC_DIR"]


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(STATIC_PREFIX, StaticFiles(directory=Path(STATIC_DIR)), name="web-static")
