"""RapidOCR word boxes, per-line engine selection (fusion) and reading order, on generated pages."""

import pytest

from doc_pipeline.core.ocr import get_engine
from doc_pipeline.core.ocr.base import OcrWord, words_to_points
from doc_pipeline.core.ocr.fusion import align_segments, choose_line, choose_words, word_swap_ok
from doc_pipeline.core.ocr.reading_order import order_words
from doc_pipeline.core.page_text import PageTextReader, rotation_applied
from doc_pipeline.core.text import words_to_text
from doc_pipeline_tests import make_docs


def w(text, x0, y0, x1, y1, conf=0.9, line=0, block=0, in_dictionary=None):
    return OcrWord(text=text, box_px=(x0, y0, x1, y1), conf=conf, line=line, block=block, in_dictionary=in_dictionary)


# ---- engine selection -------------------------------------------------------------------------------


def test_primary_kept_when_secondary_not_clearly_better():
    primary = [w("TOTAL", 0, 0, 50, 10, 0.7), w("9.00", 60, 0, 90, 10, 0.75)]
    secondary = [w("TOTAL", 0, 0, 50, 10, 0.8), w("9.00", 60, 0, 90, 10, 0.8)]
    assert choose_line(primary, secondary).engine == "rapidocr"


def test_secondary_wins_when_clearly_more_confident_and_agrees_on_length():
    primary = [w("T0TAI", 0, 0, 50, 10, 0.4), w("9.0O", 60, 0, 90, 10, 0.5)]
    secondary = [w("TOTAL", 0, 0, 50, 10, 0.93), w("9.00", 60, 0, 90, 10, 0.95)]
    choice = choose_line(primary, secondary)
    assert choice.engine == "tesseract" and [x.text for x in choice.words] == ["TOTAL", "9.00"]


def test_secondary_that_lost_half_the_line_never_wins():
    primary = [w("Amount", 0, 0, 50, 10, 0.4), w("payable", 60, 0, 120, 10, 0.4), w("97.99", 130, 0, 170, 10, 0.4)]
    assert choose_line(primary, [w("Amount", 0, 0, 50, 10, 0.99)]).engine == "rapidocr"
    assert choose_line(primary, None).engine == "rapidocr"
    assert choose_line(primary, []).engine == "rapidocr"


# ---- word-level choice inside a line ----------------------------------------------------------------------


def test_segments_pair_words_by_position_across_different_splits():
    primary = [w("Total", 0, 0, 50, 10), w("Excl.of", 60, 0, 130, 10), w("GST", 140, 0, 170, 10)]
    secondary = [w("Total", 1, 0, 49, 10), w("Excl.", 60, 0, 100, 10), w("of", 106, 0, 130, 10),
                 w("GST", 141, 0, 170, 10), w("|", 300, 0, 305, 10)]
    segs = [([x.text for x in p], [x.text for x in s]) for p, s in align_segments(primary, secondary)]
    assert segs == [(["Total"], ["Total"]), (["Excl.of"], ["Excl.", "of"]), (["GST"], ["GST"]), ([], ["|"])]


def test_swap_only_respells_letters():
    assert word_swap_ok("Irvolce", "Invoice")
    assert word_swap_ok("Indl.", "incl.")
    assert not word_swap_ok("CS1802/27714", "C$1802/27714")  # punctuation differs
    assert not word_swap_ok("02/02/2018", "92/02/2018")  # digits: PP-OCR reads them better
    assert not word_swap_ok("NO:", "NO'")
    assert not word_swap_ok("paent", "hardware")  # not a respelling: too different
    assert not word_swap_ok("Total", "TOTAL")  # the same word


def test_tesseract_dictionary_word_replaces_one_unsure_word_only():
    primary = [w("Irvolce", 0, 0, 70, 10, 0.64), w("No.:", 80, 0, 110, 10, 1.0), w("CS1802", 120, 0, 180, 10, 0.7)]
    secondary = [w("Invoice", 0, 0, 70, 10, 0.89, in_dictionary=True), w("No.:", 80, 0, 110, 10, 0.83),
                 w("C51802", 120, 0, 180, 10, 0.95, in_dictionary=False)]
    assert choose_line(primary, secondary).engine == "rapidocr"  # the line as a whole is no clear win
    assert [x.text for x in choose_words(primary, secondary)] == ["Invoice", "No.:", "CS1802"]
    # not in Tesseract's dictionary, or not clearly more confident: PP-OCR's reading stays
    assert [x.text for x in choose_words(primary, [w("Invoise", 0, 0, 70, 10, 0.99, in_dictionary=False)])][0] == "Irvolce"
    assert [x.text for x in choose_words(primary, [w("Invoice", 0, 0, 70, 10, 0.7, in_dictionary=True)])][0] == "Irvolce"
    assert choose_words(primary, None) == primary


def test_a_spelling_read_surely_elsewhere_on_the_page_is_not_respelled():
    from doc_pipeline.core.ocr.fusion import page_vocabulary

    company = [w("DION", 0, 0, 40, 10, 0.97), w("REALTIES", 50, 0, 130, 10, 0.96)]
    address = [w("MENARA", 0, 20, 60, 30, 0.9), w("DION", 70, 20, 110, 30, 0.6)]
    tess = [w("MENARA", 0, 20, 60, 30, 0.9, in_dictionary=True), w("DIAN", 70, 20, 110, 30, 0.9, in_dictionary=True)]
    vocabulary = page_vocabulary([company, address], 0.8)
    assert "dion" in vocabulary and "menara" in vocabulary
    # without the page's own spelling the dictionary word wins; with it, the name stays as printed
    assert [x.text for x in choose_words(address, tess)] == ["MENARA", "DIAN"]
    assert [x.text for x in choose_words(address, tess, page_words=vocabulary)] == ["MENARA", "DION"]
    # a word seen only unsurely elsewhere is no evidence
    assert "dion" not in page_vocabulary([address], 0.8)


def test_fusion_engine_applies_the_word_level_choice(monkeypatch):
    from PIL import Image

    from doc_pipeline.core.ocr.fusion import FusionEngine

    primary = [w("Irvolce", 0, 0, 70, 10, 0.64), w("No.:", 80, 0, 110, 10, 1.0)]
    secondary = [w("Invoice", 0, 0, 70, 10, 0.89, in_dictionary=True), w("No.:", 80, 0, 110, 10, 0.83)]
    engine = FusionEngine()
    monkeypatch.setattr(engine.rapid, "recognize_lines", lambda image: [list(primary)])
    monkeypatch.setattr(engine, "_read_line", lambda gray, line, dpi: list(secondary))
    img = Image.new("L", (200, 20), 255)
    assert [x.text for x in engine.recognize(img, 200)] == ["Invoice", "No.:"]
    engine.word_level = False
    assert [x.text for x in engine.recognize(img, 200)] == ["Irvolce", "No.:"]


def test_tesseract_words_say_whether_they_are_dictionary_words():
    img = make_docs.text_image(["Invoice stampec"], dpi=200)
    words = {x.text: x.in_dictionary for x in get_engine("tesseract").recognize(img, 200)}
    assert words.get("Invoice") is True and words.get("stampec") is False


def test_fusion_engine_reads_a_page_and_records_choices():
    img = make_docs.text_image(["INVOICE 2024-0042", "Total due 97.99"], dpi=150)
    engine = get_engine("fusion", recheck_below=1.01)  # re-read every line: both engines run
    words = engine.recognize(img, 150)
    text = words_to_text(words_to_points(order_words(words), 150))
    assert "97.99" in text and "INVOICE" in text
    assert len(engine.last_choices) == 2 and set(engine.last_choices) <= {"rapidocr", "tesseract"}


# ---- RapidOCR word boxes -----------------------------------------------------------------------------


@pytest.mark.parametrize("dpi", [150, 300])
def test_rapidocr_word_boxes_in_points(dpi):
    img = make_docs.text_image(["INVOICE 2024-0042", "Total due 97.99"], dpi=dpi)
    words = words_to_points(order_words(get_engine("rapidocr").recognize(img, dpi)), dpi)
    by_text = {x.text: x for x in words}
    assert {"INVOICE", "2024-0042", "Total", "due", "97.99"} <= set(by_text), [x.text for x in words]
    # drawn at 1 inch from the left, 0.5 inch from the top (line 2 at 0.8 inch): the same points at any DPI
    assert by_text["INVOICE"].bbox[0] == pytest.approx(72, abs=5)
    assert by_text["INVOICE"].bbox[1] == pytest.approx(36, abs=8)
    assert by_text["Total"].bbox[1] == pytest.approx(57.6, abs=8)
    # real word boxes: words do not overlap and follow each other left to right
    assert by_text["INVOICE"].bbox[2] < by_text["2024-0042"].bbox[0]
    assert by_text["Total"].bbox[2] < by_text["due"].bbox[0] < by_text["97.99"].bbox[0]
    assert all(0 < x.conf <= 1 for x in words)


# ---- reading order -----------------------------------------------------------------------------------


def test_detection_lines_on_one_row_are_joined_left_to_right():
    words = [w("4.90", 500, 102, 560, 120, line=1), w("TOTAL", 20, 100, 90, 121, line=0),
             w("CASH", 20, 140, 80, 160, line=2), w("4.90", 500, 141, 560, 160, line=3)]
    assert words_to_text(words_to_points(order_words(words), 72)) == "TOTAL 4.90\nCASH 4.90"


def _prose_line(tag, x0, y0, line):
    # a line of 5 words (prose: a column of running text, not a table column), 40 px per word
    return [w(f"{tag}{k}", x0 + 40 * k, y0, x0 + 40 * k + 35, y0 + 20, line=line) for k in range(5)]


def test_two_columns_read_column_by_column_with_layout_regions():
    left = [x for i in range(3) for x in _prose_line(f"L{i}.", 50, 100 + 30 * i, i)]
    right = [x for i in range(3) for x in _prose_line(f"R{i}.", 350, 100 + 30 * i, 10 + i)]
    title = [w("Title", 200, 40, 400, 70, line=20)]
    words = right + left + title

    def lines(ws):  # the first word of each input line, in output order
        return [x.text for x in ws if x.text == "Title" or x.text.endswith(".0")]

    across = lines(order_words(words))
    assert across == ["Title", "L0.0", "R0.0", "L1.0", "R1.0", "L2.0", "R2.0"]  # no regions: rows across the page
    regions = [(40, 90, 260, 200), (340, 90, 560, 200)]
    cols = lines(order_words(words, regions))
    assert cols == ["Title", "L0.0", "L1.0", "L2.0", "R0.0", "R1.0", "R2.0"]


def test_page_text_reader_uses_layout_regions_in_points():
    img = make_docs.text_image([], dpi=100, width_in=8.5, height_in=3)
    from PIL import ImageDraw

    d = ImageDraw.Draw(img)
    font = make_docs._font(18)
    # prose columns (several words a line): read column by column even though their baselines line up
    rows = [("alpha one two three", "delta one two three"), ("beta one two three", "epsilon one two three"),
            ("gamma one two three", "zeta one two three")]
    for i, (a, b) in enumerate(rows):
        d.text((60, 60 + 40 * i), a, fill=0, font=font)
        d.text((500, 60 + 40 * i), b, fill=0, font=font)
    reader = PageTextReader(ocr_engine="rapidocr")
    regions_pt = [(30, 30, 250, 160), (330, 30, 600, 160)]  # two columns, in points (100 dpi image)
    words, engine = reader.ocr_image(img, 100, regions_pt)
    assert engine == "rapidocr"
    firsts = [x.text for x in words if x.text not in ("one", "two", "three")]
    assert firsts == ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"], [x.text for x in words]


def test_rotation_applied_from_steps():
    assert rotation_applied(["grayscale", "rotate_90", "deskew_+1.20"]) == 90
    assert rotation_applied(["grayscale"]) == 0


# ---- dictionary check against Tesseract's reading of the page (auto) ----------------------------------------

from doc_pipeline.core.ocr.fusion import line_members, prefer_dictionary_words  # noqa: E402

LEXICON = {"amount", "incl", "gst", "summary", "level", "page", "paget", "jin", "tel"}


def test_a_non_word_gives_way_to_the_dictionary_reading_of_the_same_place():
    primary = [w("Anount", 0, 0, 60, 10, 1.0), w("Incl.", 70, 0, 110, 10, 1.0), w("GST", 120, 0, 150, 10, 1.0)]
    secondary = [w("Amount", 1, 0, 59, 10, 0.7, in_dictionary=True),
                 w("Incl.", 70, 0, 110, 10, 0.9, in_dictionary=True),
                 w("GST", 121, 0, 150, 10, 0.9, in_dictionary=True)]
    out = prefer_dictionary_words(primary, secondary, LEXICON)
    assert [x.text for x in out] == ["Amount", "Incl.", "GST"]
    assert {x.line for x in out} == {0}
    assert prefer_dictionary_words([w("FACS1MILE", 0, 0, 80, 10)], [w("FACSIMILE", 0, 0, 80, 10, in_dictionary=True)],
                                   LEXICON | {"facsimile"})[0].text == "FACSIMILE"  # a digit among letters


@pytest.mark.parametrize("read, other, in_dictionary", [
    ("Amount", "Arnount", True),  # PP-OCR's reading is a word already
    ("Anount", "Amount", False),  # Tesseract did not find it in its dictionary
    ("Page1", "Paget", True),  # a trailing digit is a number, not a misread letter
    ("Jln", "Jin", True),  # too short: abbreviations sit one look-alike from words
    ("Sumnary", "Summary!", True),  # different punctuation
    ("Lcvcl", "Level.", True),
    ("Transporiation", "Amount", True),  # not a respelling
    ("Levvel", "Level", True),  # not as many characters
])
def test_dictionary_check_leaves_these_alone(read, other, in_dictionary):
    primary = [w(read, 0, 0, 60, 10, 1.0)]
    secondary = [w(other, 0, 0, 60, 10, 0.95, in_dictionary=in_dictionary)]
    assert prefer_dictionary_words(primary, secondary, LEXICON)[0].text == read


def test_a_spelling_the_page_repeats_is_a_name_and_stays():
    primary = [w("Sumnary", 0, 0, 60, 10)]
    secondary = [w("Summary", 0, 0, 60, 10, in_dictionary=True)]
    assert prefer_dictionary_words(primary, secondary, LEXICON, repeated={"sumnary"})[0].text == "Sumnary"
    assert prefer_dictionary_words(primary, secondary, LEXICON)[0].text == "Summary"
    assert prefer_dictionary_words(primary, secondary, frozenset())[0].text == "Sumnary"  # no word list: no check


def test_line_members_are_the_other_readings_words_on_the_line():
    line = [w("TOTAL", 100, 50, 160, 70), w("4.90", 300, 50, 340, 70)]
    others = [w("TOTAL", 101, 51, 159, 69), w("4.90", 301, 52, 339, 71), w("above", 100, 20, 160, 40),
              w("right", 400, 50, 450, 70), w("half", 200, 62, 240, 82)]
    assert [x.text for x in line_members(line, others)] == ["TOTAL", "4.90"]


def test_a_re_read_line_gets_the_dictionary_check_against_its_re_reading(monkeypatch):
    """No confidence margin: PP-OCR's `Sumnary` (0.7) gives way to Tesseract's `Summary` (0.72) on the same line."""
    from doc_pipeline.core.ocr import fusion as fusion_mod

    eng = get_engine("fusion")
    line = [w("GST", 0, 0, 40, 20, 1.0), w("Sumnary", 50, 0, 130, 20, 0.7)]
    monkeypatch.setattr(eng.rapid, "recognize_lines", lambda image: [line])
    reread = [w("GST", 0, 0, 40, 20, 0.7, in_dictionary=True), w("Summary", 50, 0, 130, 20, 0.72, in_dictionary=True)]
    monkeypatch.setattr(eng, "_read_line", lambda gray, ln, dpi: reread)
    monkeypatch.setattr(fusion_mod, "tesseract_lexicon", lambda: frozenset({"gst", "summary"}))
    out = eng.recognize(make_docs.text_image(["x"], dpi=100), 100)
    assert [x.text for x in out] == ["GST", "Summary"]
