"""Text printed vertically (document numbers up a form's margin, Bates stamps): rapid.vertical_stacks and
RapidOcrEngine._join_vertical, on pages rendered here."""

import pytest
from PIL import Image, ImageDraw

from doc_pipeline.core.ocr import get_engine
from doc_pipeline.core.ocr.base import OcrWord
from doc_pipeline.core.ocr.rapid import vertical_reading_plausible, vertical_stacks
from doc_pipeline_tests.make_docs import _font

NUMBER = "83641919"


def _page(angle: int, size: int = 14) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A form-like page with NUMBER printed up (angle 90) or down (angle -90) its right margin; the number's box."""
    img = Image.new("L", (754, 1000), 255)
    d = ImageDraw.Draw(img)
    font = _font(size)
    for k, text in enumerate(["DATE: 12/10/98", "TO: George Baroody", "FAX NUMBER: (336) 335-7392"]):
        d.text((80, 120 + 40 * k), text, fill=0, font=font)
    strip = Image.new("L", (int(size * 0.7 * len(NUMBER)) + 10, size + 8), 255)
    ImageDraw.Draw(strip).text((4, 2), NUMBER, fill=0, font=font)
    strip = strip.rotate(angle, expand=True)
    img.paste(strip, (680, 700))
    return img, (680, 700, 680 + strip.width, 700 + strip.height)


def _margin_words(lines):
    return [w.text for line in lines for w in line if w.box_px[0] >= 670]


@pytest.mark.parametrize("angle", [90, -90])
def test_a_number_printed_up_or_down_the_margin_is_read(angle):
    """PP-OCR turns every tall line the same way: text running bottom-up came out upside down ("83619")."""
    img, _ = _page(angle)
    lines = get_engine("rapidocr").recognize_lines(img)
    assert _margin_words(lines) == [NUMBER]
    assert any(w.text == "George" for line in lines for w in line)  # the rest of the page as before


def _pieces(box, n):
    """The number's box cut into n stacked single-glyph "lines", as PP-OCR's detector cuts it on a noisy scan."""
    x0, y0, x1, y1 = box
    step = (y1 - y0) / n
    return [[OcrWord(text="8", box_px=(x0, round(y0 + k * step), x1, round(y0 + (k + 1) * step)), conf=1.0, line=k)]
            for k in range(n)]


def test_a_vertical_number_cut_into_glyphs_is_joined_and_read_as_one_word():
    img, box = _page(-90)
    pieces = _pieces(box, len(NUMBER))
    other = [OcrWord(text="DATE:", box_px=(80, 120, 150, 136), conf=0.99, line=99)]
    lines = [*pieces, other]
    assert vertical_stacks(lines, None) == [list(range(len(NUMBER)))]
    joined = get_engine("rapidocr")._join_vertical(img, lines)
    assert [[w.text for w in line] for line in joined] == [[NUMBER], ["DATE:"]]
    assert joined[0][0].box_px == box and joined[0][0].conf >= 0.9


def test_a_column_of_upright_numbers_is_no_vertical_line():
    """A table's column: upright glyphs (taller than wide), a line spacing apart."""
    img = Image.new("L", (300, 400), 255)
    d = ImageDraw.Draw(img)
    font = _font(16)
    lines = []
    for k, text in enumerate(["6", "1", "4", "7", "2"]):
        y = 40 + 24 * k
        d.text((100, y), text, fill=0, font=font)
        lines.append([OcrWord(text=text, box_px=(96, y - 2, 116, y + 21), conf=1.0, line=k)])
    gray = __import__("numpy").asarray(img)
    assert vertical_stacks(lines, gray) == []
    assert get_engine("rapidocr")._join_vertical(img, lines) == lines


def test_a_sideways_reading_must_account_for_the_pieces_characters():
    # FUNSD margins: glyph pieces misread, the number read whole
    assert vertical_reading_plausible(["8", "2", "0", "6", "2", "7"], "82092117")
    assert vertical_reading_plausible(["8", "2", "2200067"], "82200067")
    # a table's column of "no" cells read sideways (a PubTabNet table): half the characters gone
    assert not vertical_reading_plausible(["no"] * 4, "8888")
    assert not vertical_reading_plausible(["no"] * 11, "88888888888")
    assert vertical_reading_plausible(["Jroe|ur"], "Prosta te canoer")  # one tall line: nothing to compare


def test_short_words_stacked_in_a_table_column_stay_as_read():
    """Short words stacked in a table column ("no" six times): read as they are, not joined."""
    img = Image.new("L", (300, 400), 255)
    d = ImageDraw.Draw(img)
    font = _font(14)
    lines = []
    for k in range(6):
        y = 40 + 15 * k
        d.text((100, y), "no", fill=0, font=font)
        lines.append([OcrWord(text="no", box_px=(98, y, 118, y + 15), conf=1.0, line=k)])
    joined = get_engine("rapidocr")._join_vertical(img, lines)
    assert [w.text for line in joined for w in line] == ["no"] * 6
