"""Where the ONNX models run: ONNX Runtime, or OpenVINO's CPU plugin reading the same .onnx file.

Measured on this project's CPU host (docs/PERFORMANCE.md, item 25): the layout model (PP-Layout CDLA, 608 x 800)
takes 0.12 CPU s per page on ONNX Runtime with one thread and 0.055 on OpenVINO with one thread, with outputs equal
to 1.5e-5; RapidOCR's PP-OCR detection + recognition on SROIE receipts 3.4 -> 2.0 CPU s per page, the same words.
The precision is asked for explicitly (on CPUs with bfloat16 units OpenVINO's own default is bf16): f32 for
RapidOCR's models (bf16 reads about 1% of words differently) and, by default, bf16 for the layout model
(DOCPIPE_LAYOUT_PRECISION): outputs move by up to 1.1, boxes by a few pixels, and the corpus figures stay the same
(docs/PERFORMANCE.md item 29) at about two thirds of the CPU."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path
from typing import TypeVar

import numpy as np

log = logging.getLogger(__name__)
T = TypeVar("T")

RUNTIMES = ("auto", "onnxruntime", "openvino")
PRECISIONS = ("f32", "bf16")
# OpenVINO's compile_model with a model cache sets the process locale (LC_ALL) to "C" and back, which is not
# thread-safe: two page threads compiling at once could leave the whole process in the "C" locale, and Python's
# default file encoding with it (ASCII: writing a "u-umlaut" then fails). Compilation is serialised; inference is not.
_COMPILE_LOCK = threading.Lock()


def openvino_available() -> bool:
    return find_spec("openvino") is not None


def resolve_runtime(name: str | None = None) -> str:
    """`auto` is OpenVINO when it is installed (a dependency of the project), else ONNX Runtime. None: the
    configured DOCPIPE_MODEL_RUNTIME (engines built deep inside other engines, e.g. fusion's RapidOCR)."""
    if name is None:
        from doc_pipeline.settings import get_settings

        name = get_settings().model_runtime
    if name not in RUNTIMES:
        raise ValueError(f"unknown model runtime {name!r}: choose one of {', '.join(RUNTIMES)}")
    if name == "auto":
        return "openvino" if openvino_available() else "onnxruntime"
    if name == "openvino" and not openvino_available():
        raise RuntimeError("DOCPIPE_MODEL_RUNTIME=openvino needs the openvino package (pip install openvino)")
    return name


def on_openvino(requested: str | None, build: Callable[[], T], what: str) -> T | None:
    """`build()` (something running on OpenVINO), or None after a warning when it fails and the runtime was chosen
    by `auto`: the caller then stays on ONNX Runtime (an OpenVINO that cannot load a model on this machine must not
    stop the pipeline). An explicit DOCPIPE_MODEL_RUNTIME=openvino re-raises."""
    if requested is None:
        from doc_pipeline.settings import get_settings

        requested = get_settings().model_runtime
    try:
        return build()
    except Exception as exc:  # noqa: BLE001 - any OpenVINO failure; reported, then ONNX Runtime serves
        if requested == "openvino":
            raise
        log.warning("OpenVINO could not run the %s (%s: %s); using ONNX Runtime", what, type(exc).__name__, exc)
        return None


def decline_openvino_telemetry() -> None:
    """Turn OpenVINO's usage telemetry off in this process, before openvino is imported. `import openvino` (via
    openvino.tools.ovc) sends a "general_import" event to Google Analytics from a forked child process, in every
    process that imports it, unless ~/intel/openvino_telemetry holds "0" (`opt_in_out --opt_out`) or CI=true: a
    document pipeline must not phone home from its workers, and forking a worker that holds a loaded model costs
    CPU (measured: 0.03-0.08 CPU s per process). openvino_telemetry's Telemetry is a process-wide singleton that
    the import only re-configures when its app name differs, so creating it first, for "OpenVINO", with consent
    withdrawn keeps every later send_event a no-op. Nothing is written to disk: a non-interactive process answers
    the opt-in check with "declined" without touching ~/intel."""
    try:
        import openvino_telemetry
    except ImportError:  # older OpenVINO without it: nothing to decline
        return
    telemetry = openvino_telemetry.Telemetry(app_name="OpenVINO", app_version="", tid="declined", backend="ga4",
                                             enable_opt_in_dialog=True, disable_in_ci=True)
    telemetry.consent = False


def import_openvino():
    """`import openvino`, with its telemetry declined first unless DOCPIPE_OPENVINO_TELEMETRY is on."""
    if "openvino" not in sys.modules:
        from doc_pipeline.settings import get_settings

        if not get_settings().openvino_telemetry:
            decline_openvino_telemetry()
    import openvino

    return openvino


def model_cache_dir() -> Path | None:
    """Where OpenVINO keeps compiled models: DOCPIPE_MODEL_CACHE_DIR, else the user's cache
    ($XDG_CACHE_HOME or ~/.cache, /doc-pipeline/openvino), else $DOCPIPE_HOME/cache/openvino; None if none is
    writable. Compiling the layout model takes 0.6-0.7 CPU s per engine, loading it from the cache 0.17 (one engine
    per page thread per process). The cache is keyed by the model, its settings and OpenVINO's version, so one
    folder serves every DOCPIPE_HOME on the host (a new home, a benchmark's temp home, a test) and an image can
    ship it compiled (docker/Dockerfile.worker)."""
    from doc_pipeline.settings import get_settings

    settings = get_settings()
    user_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "doc-pipeline" / "openvino"
    candidates = [settings.model_cache_dir] if settings.model_cache_dir else [user_cache]
    candidates.append(settings.home / "cache" / "openvino")
    for path in candidates:
        try:
            path = Path(path).expanduser()
            path.mkdir(parents=True, exist_ok=True)
            if os.access(path, os.W_OK):
                return path
        except (OSError, RuntimeError):  # RuntimeError: no home directory to expand
            continue
    return None


class OpenVinoSession:
    """Runs an .onnx model on OpenVINO's CPU plugin: called with the model's inputs (in order), returns its outputs
    (in order) as NumPy arrays, like an ONNX Runtime session's run(None, ...). One per thread, like the engines that
    hold it (an infer request is not shared between threads). `metadata` holds the .onnx file's metadata (e.g. a
    detector's class names under "character")."""

    def __init__(self, model_path: str | Path, threads: int = 1, cache_dir: Path | None = None,
                 precision: str = "f32"):
        ov = import_openvino()
        if precision not in PRECISIONS:
            raise ValueError(f"unknown inference precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
        core = ov.Core()
        if cache_dir is not None:
            # one folder per precision: OpenVINO's cache key leaves the precision hint out, and an f32-compiled
            # model loaded under the bf16 hint reads NaN on AMX CPUs (PP-OCR's recogniser: no text at all)
            core.set_property({"CACHE_DIR": str(cache_dir / precision)})
        model = core.read_model(str(model_path))
        rt_info = model.get_rt_info()  # the .onnx metadata_props arrive under "framework"
        framework = rt_info["framework"] if "framework" in rt_info else {}
        self.metadata = {str(k): str(getattr(v, "value", v)) for k, v in dict(framework).items()}
        # bf16 is a hint: a CPU without bfloat16 units runs the model in f32 (self.precision says which).
        # No CPU pinning: OpenVINO pins each compiled model's inference thread, and every model lands on the same
        # core, so two page threads (or two runs of a burst) running the layout model took turns on one core while
        # the other idled (0.027 s an inference alone, 0.054 each side by side; 0.028 unpinned).
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": precision, "ENABLE_CPU_PINNING": False}
        if threads > 0:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        with _COMPILE_LOCK:
            self.compiled = core.compile_model(model, "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.n_outputs = len(self.compiled.outputs)
        hint = self.compiled.get_property("INFERENCE_PRECISION_HINT")
        self.precision = hint.get_type_name() if hasattr(hint, "get_type_name") else str(hint)  # what runs

    def __call__(self, *inputs: np.ndarray) -> list[np.ndarray]:
        self.request.infer({i: np.ascontiguousarray(x) for i, x in enumerate(inputs)})
        # copies: the request's output buffers are reused by the next call
        return [self.request.get_output_tensor(i).data.copy() for i in range(self.n_outputs)]


def onnx_model_path(ort_session) -> str | None:
    """The .onnx file an ONNX Runtime InferenceSession was loaded from (None if it was loaded from bytes)."""
    return getattr(ort_session, "_model_path", None) or None


class OpenVinoStandIn:
    """Takes the place of a library's own ONNX Runtime session wrapper (rapidocr's OrtInferSession): calls run on
    OpenVINO and return the first output, like the wrapper; everything else (the model's metadata: character
    lists, input names) is still read from the wrapper."""

    def __init__(self, wrapper, model_path: str, threads: int = 1, precision: str | None = None):
        if precision is None:  # the configured DOCPIPE_OCR_PRECISION (these stand-ins serve RapidOCR's models)
            from doc_pipeline.settings import get_settings

            precision = get_settings().ocr_precision
        self._wrapper = wrapper
        self._openvino = OpenVinoSession(model_path, threads, model_cache_dir(), precision)

    def __call__(self, input_content: np.ndarray) -> np.ndarray:
        return self._openvino(input_content)[0]

    def __getattr__(self, name: str):
        return getattr(self._wrapper, name)
