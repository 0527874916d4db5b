"""Checkboxes on scanned pages become `☐` / `☑` words (core/ocr/checkboxes.py)."""

import numpy as np
from PIL import Image, ImageDraw

from doc_pipeline.core.ocr.base import BALLOT_BOX, OcrWord
from doc_pipeline.core.ocr.checkboxes import TICKED_BOX, add_checkbox_words, crossed_box_words, find_checkboxes
from doc_pipeline.core.page_text import PageTextReader
from doc_pipeline_tests import make_docs

DPI = 200
H = 34  # text height in pixels at 200 dpi (make_docs' font: 0.17 in)


def _form() -> tuple[Image.Image, dict[str, tuple[int, int, int, int]]]:
    """A form line "YES [x] NO [ ]   MAYBE [ ]" plus things that are not checkboxes: a letter O drawn as a ring,
    a solid square bullet, a cell of a ruled grid, a square in a plot with no label."""
    img = Image.new("L", (1700, 800), 255)
    d = ImageDraw.Draw(img)
    font = make_docs._font(H)
    boxes = {}
    d.text((100, 100), "YES", fill=0, font=font)
    boxes["yes"] = (190, 100, 220, 130)
    d.text((300, 100), "NO", fill=0, font=font)
    boxes["no"] = (400, 100, 430, 130)
    d.text((510, 100), "MAYBE", fill=0, font=font)
    boxes["maybe"] = (690, 100, 720, 130)
    for name in ("yes", "no", "maybe"):
        d.rectangle(boxes[name], outline=0, width=3)
    x0, y0, x1, y1 = boxes["yes"]  # a hand-drawn cross the OCR engine did not read
    d.line((x0 + 6, y0 + 6, x1 - 6, y1 - 6), fill=0, width=3)
    d.line((x0 + 6, y1 - 6, x1 - 6, y0 + 6), fill=0, width=3)
    d.text((100, 250), "Total", fill=0, font=font)
    d.ellipse((200, 252, 230, 282), outline=0, width=3)  # a round letter-like ring beside a word
    d.rectangle((300, 252, 328, 280), fill=0)  # a bullet
    d.text((340, 250), "item", fill=0, font=font)
    for x in range(100, 400, 30):  # a ruled grid of small square cells
        d.line((x, 400, x, 490), fill=0, width=2)
    for y in range(400, 500, 30):
        d.line((100, y, 370, y), fill=0, width=2)
    d.text((420, 430), "grid", fill=0, font=font)
    d.rectangle((1400, 600, 1428, 628), outline=0, width=3)  # an unlabelled square (a plot marker)
    return img, boxes


def _label_words() -> list[OcrWord]:
    """What an engine reads on _form: the labels, no boxes."""
    return [OcrWord("YES", (100, 102, 170, 130), 0.95, line=0), OcrWord("NO", (300, 102, 345, 130), 0.95, line=0),
            OcrWord("MAYBE", (510, 102, 630, 130), 0.95, line=0), OcrWord("Total", (100, 252, 185, 280), 0.95, line=1),
            OcrWord("item", (340, 252, 400, 280), 0.95, line=1), OcrWord("grid", (420, 432, 480, 460), 0.95, line=2)]


def _near(a, b, tol=4) -> bool:
    return all(abs(p - q) <= tol for p, q in zip(a, b))


def test_boxes_beside_labels_become_words_ticked_or_empty():
    img, boxes = _form()
    words = add_checkbox_words(_label_words(), img)
    added = [w for w in words if w.text in (BALLOT_BOX, TICKED_BOX)]
    assert len(added) == 3
    by_place = {name: next(w for w in added if _near(w.box_px, box)) for name, box in boxes.items()}
    assert by_place["yes"].text == TICKED_BOX
    assert by_place["no"].text == BALLOT_BOX and by_place["maybe"].text == BALLOT_BOX
    # a box between the words of an engine line joins that line (reading order keeps engine lines whole)
    # ... one after its line's last word is a line of its own
    line_of = {round(w.box_px[0], -1): (w.block, w.line) for w in added}  # boxes come back within a pixel or two
    assert line_of == {190: (0, 0), 400: (0, 0), 690: (-1, 0)}


def test_rings_bullets_grid_cells_and_unlabelled_squares_are_not_checkboxes():
    img, boxes = _form()
    found = find_checkboxes(np.asarray(img), H)
    # the ring, the bullet and the grid's cells are not even candidates
    assert sorted(round(b.box_px[1], -1) for b in found) == [100, 100, 100, 600]
    # the plot marker is a candidate but has no word beside it
    words = add_checkbox_words(_label_words(), img)
    assert not any(w.box_px[1] >= 500 for w in words)


def test_a_box_an_engine_already_read_is_left_alone():
    """A word over the box (the engine's `x` for a tick, or its `☐`) is the reading: no second word is added."""
    img, boxes = _form()
    read = _label_words() + [OcrWord("x", (195, 104, 215, 126), 0.8, line=5),
                             OcrWord(BALLOT_BOX, boxes["no"], 0.9, line=6)]
    words = add_checkbox_words(read, img)
    assert [w.text for w in words if w.box_px[0] in (195, 400)] == ["x", BALLOT_BOX]
    assert TICKED_BOX not in {w.text for w in words}
    assert sum(w.text in (BALLOT_BOX, TICKED_BOX) for w in words) == 2  # NO (read) + MAYBE (added)


def test_a_character_written_in_a_box_stays():
    """Ink inside a box the engine read as a character (`[2]` on a quantity field) is what was written: the word
    stays and no box is added over it."""
    img, boxes = _form()
    d = ImageDraw.Draw(img)
    x0, y0, x1, y1 = boxes["maybe"]
    d.text((x0 + 8, y0 + 2), "2", fill=0, font=make_docs._font(24))
    read = _label_words() + [OcrWord("2", (x0 + 8, y0 + 5, x0 + 22, y1 - 5), 0.9, line=7)]
    words = add_checkbox_words(read, img)
    assert "2" in {w.text for w in words}
    assert not any(w.text in (BALLOT_BOX, TICKED_BOX) and abs(w.box_px[0] - x0) < 5 for w in words)


def test_pp_ocrs_reading_of_a_crossed_box_is_a_ticked_box_in_latin_pages_only():
    words = [OcrWord("\u533a", (0, 0, 20, 20), 0.9), OcrWord("\u533aSHIP", (40, 0, 140, 20), 0.9),
             OcrWord("SHIP", (200, 0, 260, 20), 0.9)]
    out = crossed_box_words(words)
    assert [w.text for w in out] == [TICKED_BOX, TICKED_BOX, "SHIP", "SHIP"]
    assert out[1].box_px == (40, 0, 60, 20) and out[2].box_px == (60, 0, 140, 20)
    img = Image.new("L", (300, 40), 255)
    assert [w.text for w in add_checkbox_words(words, img, latin_script=False)] == ["\u533a", "\u533aSHIP", "SHIP"]


def test_the_page_reader_adds_checkboxes_and_the_setting_turns_them_off():
    """Real Tesseract on a generated form: the boxes come out as words in reading order, after their labels."""
    img, _ = _form()
    words, _ = PageTextReader(ocr_engine="tesseract", workers=1).ocr_image(img, DPI)
    texts = [w.text.upper() for w in words]
    assert texts.count(TICKED_BOX) == 1 and texts.count(BALLOT_BOX) == 2
    # in reading order after their labels; Tesseract's readings of the empty outlines (`O`, `TO`) are replaced
    assert texts[:6] == ["YES", TICKED_BOX, "NO", BALLOT_BOX, "MAYBE", BALLOT_BOX]
    off, _ = PageTextReader(ocr_engine="tesseract", workers=1, checkboxes=False).ocr_image(img, DPI)
    assert not any(w.text in (BALLOT_BOX, TICKED_BOX) for w in off)


def test_odd_pages_never_break_the_reading():
    """Bilevel, colour, tiny, blank and noisy pages, and words of any height: the words come back, boxes or not."""
    rng = np.random.default_rng(3)
    noise = Image.fromarray((rng.random((400, 600)) > 0.5).astype(np.uint8) * 255)
    word = [OcrWord("Total", (10, 10, 60, 30), 0.9)]
    cases = [(Image.new("1", (300, 200), 1), word), (Image.new("RGB", (300, 200), "white"), word),
             (Image.new("L", (1, 1), 255), word), (Image.new("L", (300, 200), 0), word), (noise, word),
             (noise, [OcrWord("Big", (0, 0, 600, 400), 0.9)]), (noise, [OcrWord("!", (5, 5, 6, 6), 0.9)]),
             (noise, [])]
    for img, words in cases:
        out = add_checkbox_words(words, img)
        assert [w.text for w in out[:len(words)]] == [w.text for w in words]
