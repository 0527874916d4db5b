"""One settings object, read from DOCPIPE_* environment variables (see README and sample_env.sh)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOCPIPE_", extra="ignore")

    home: Path = Field(default=Path("./.docpipe"), description="all embedded state lives here")

    # metadata DB: SQLAlchemy URL; empty = SQLite file under home
    database_url: str = ""

    # object store: "local" (folder under home) or "s3"
    storage: str = "local"
    storage_path: Path | None = None
    s3_bucket: str = "docpipe"
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_prefix: str = ""

    # search: "embedded" (SQLite FTS5 file under home) or "opensearch"
    search_backend: str = "embedded"
    opensearch_url: str = "http://localhost:9200"
    opensearch_index: str = "docpipe-documents"

    # engines
    ocr_engine: str = "tesseract"
    ocr_lang: str = "eng"
    layout_engine: str = "rapid_layout"
    render_dpi: int = 200
    ocr_workers: int = 0  # 0 = one per CPU core
    tessdata_prefix: str | None = None

    # limits (bad input gets a clear error, never an OOM)
    max_upload_bytes: int = 200 * 1024 * 1024
    max_pages: int = 2000
    max_page_pixels: int = 60_000_000
    max_image_pixels: int = 200_000_000

    # fields / review
    flag_min_confidence: float = 0.5

    # API
    jwt_secret: str = ""
    api_base_url: str = "http://127.0.0.1:8000"

    @property
    def storage_root(self) -> Path:
        return (self.storage_path or self.home / "store").resolve()

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'docpipe.db').resolve()}"

    @property
    def dagster_home(self) -> Path:
        return (self.home / "dagster").resolve()

    @property
    def search_path(self) -> Path:
        return (self.home / "search.db").resolve()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reload_settings() -> Settings:
    get_settings.cache_clear()
    return get_settings()
