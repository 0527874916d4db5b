"""The OCR wrapper (real Tesseract, in-process): words, confidences and boxes in page points."""

import pytest

from doc_pipeline.core.ocr import get_engine
from doc_pipeline.core.ocr.base import words_to_points
from doc_pipeline.core.text import words_to_text
from doc_pipeline_tests import make_docs


@pytest.mark.parametrize("dpi", [150, 300])
def test_tesseract_words_boxes_and_confidence(dpi):
    img = make_docs.text_image(["INVOICE 2024-0042", "Total due 97.99"], dpi=dpi)
    engine = get_engine("tesseract", lang="eng")
    words = words_to_points(engine.recognize(img, dpi), dpi)
    text = words_to_text(words)
    assert "INVOICE" in text and "97.99" in text
    assert all(0.5 < w.conf <= 1.0 for w in words)
    inv = next(w for w in words if w.text == "INVOICE")
    # drawn at 1 inch from the left, 0.5 inch from the top: 72pt and 36pt whatever the DPI
    assert inv.bbox[0] == pytest.approx(72, abs=4)
    assert inv.bbox[1] == pytest.approx(36, abs=8)
    lines = {w.line for w in words}
    assert len(lines) == 2


def test_engine_is_loaded_once_per_thread():
    assert get_engine("tesseract", lang="eng") is get_engine("tesseract", lang="eng")


def test_page_threads_build_their_engines_side_by_side_and_keep_them():
    """Two page threads load their models at the same time (a registry-wide lock made the second wait for the
    first's model: a core idle at the start of every process), and each keeps its own engine."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from doc_pipeline.core.registry import EngineRegistry

    both_building = threading.Barrier(2, timeout=5)
    registry: EngineRegistry[object] = EngineRegistry("test")
    built = []

    def factory(**_):
        both_building.wait()  # BrokenBarrierError if the other thread cannot build at the same time
        built.append(threading.get_ident())
        return object()

    registry.register("slow", factory)
    with ThreadPoolExecutor(2) as pool:
        first = list(pool.map(lambda _: (threading.get_ident(), registry.get("slow")), range(2)))
        assert len(built) == 2 and len({id(engine) for _, engine in first}) == 2
        both_building.reset()
        again = [pool.submit(lambda: (threading.get_ident(), registry.get("slow"))).result() for _ in range(4)]
    assert len(built) == 2  # nothing built twice
    engines = dict(first)
    assert all(engines[tid] is engine for tid, engine in again)


def test_unknown_engine_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown OCR engine"):
        get_engine("nope")


def test_rapidocr_engine_reads_text():
    img = make_docs.text_image(["Total due 97.99"], dpi=200)
    words = words_to_points(get_engine("rapidocr").recognize(img, 200), 200)
    assert "97.99" in " ".join(w.text for w in words)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "1", "P", "png-loaded"])
def test_pixels_go_to_tesseract_as_they_are_in_every_image_mode(mode):
    """set_image hands raw pixels over (no PNG round trip); the words are those tesserocr's own SetImage gives."""
    import io

    from PIL import Image

    from doc_pipeline.core.ocr.tesseract import set_image

    base = make_docs.text_image(["Account summary 2024", "Balance 1,234.56"], dpi=200)
    if mode == "png-loaded":  # what ocr_text holds: a page image read back from the store
        img = Image.open(io.BytesIO(make_docs.png_bytes(base, 200)))
        img.load()
    else:
        img = base.convert(mode)
    engine = get_engine("tesseract", lang="eng")
    ours = [(w.text, w.box_px) for w in engine.recognize(img, 200)]
    engine.api.SetImage(img)
    engine.api.SetSourceResolution(200)
    engine.api.Recognize()
    theirs = engine.api.GetUTF8Text().split()
    engine.api.Clear()
    assert [t for t, _ in ours] == theirs
    assert "1,234.56" in theirs
    set_image(engine.api, img)  # the size tesseract sees is the image's own
    assert engine.api.GetThresholdedImage().size == img.size
    engine.api.Clear()


def test_rapidocr_upside_down_share_tells_a_turned_page_from_an_upright_one():
    """PP-OCR's line direction classifier as a second opinion on OSD's 0-vs-180 answer (weak on receipts)."""
    img = make_docs.text_image(["RECEIPT No. 4417 CASHIER: ANNE", "2 x Coffee latte 9.80",
                                "Subtotal 19.60 Tax 1.18", "TOTAL DUE 20.78 Thank you, come again"],
                               dpi=200, height_in=2.0)
    engine = get_engine("rapidocr")
    upright, turned = engine.upside_down_share(img), engine.upside_down_share(img.rotate(180))
    assert upright is not None and upright < 0.5
    assert turned is not None and turned > 0.5


def test_rapidocr_upside_down_share_is_none_without_text():
    from PIL import Image

    assert get_engine("rapidocr").upside_down_share(Image.new("L", (400, 300), 255)) is None


def test_upside_down_share_weighs_lines_by_width_and_score():
    from doc_pipeline.core.ocr.rapid import upside_down_share_of

    assert upside_down_share_of([("0", 1.0), ("180", 1.0)], [300, 100]) == 0.25
    assert upside_down_share_of([("180", 0.5), ("0", 1.0)], [200, 100]) == 0.5
    assert upside_down_share_of([], []) is None


def test_character_results_not_paired_with_lines_are_not_used():
    """rapidocr leaves out the character results of lines it could not place: the rest must not shift onto the
    wrong lines (a line would get another line's boxes and gaps)."""
    from doc_pipeline.core.ocr.rapid import aligned_word_results

    chars = [(("A", 0.9, None),), (("C", 0.9, None),)]
    assert aligned_word_results(["A", "B", "C"], chars) == [None, None, None]
    assert aligned_word_results(["A", "C"], chars) == chars
    assert aligned_word_results(["A"], None) == [None]
