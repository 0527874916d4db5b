"""OCR post-processing of marks: ornament runs stripped from words, colons standing alone between two detected
lines of a row found by their shape, underscores joining words split (core/ocr/base.strip_ornaments,
core/ocr/rapid.lone_colons, core/ocr/base.split_underlines)."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from doc_pipeline.core.ocr.base import (OcrWord, ballot_boxes, split_boxes, split_underlines, split_words,
                                        strip_ornaments, without_ornaments, without_underlines)
from doc_pipeline.core.ocr.rapid import colon_shape, lone_colons


def test_long_symbol_runs_are_decoration():
    assert strip_ornaments("*******************") == ("", 19, 0)
    assert strip_ornaments("********THANK") == ("THANK", 8, 0)
    assert strip_ornaments("YOU********") == ("YOU", 0, 8)
    assert strip_ornaments("Total.........") == ("Total", 0, 9)
    assert strip_ornaments("=====") == ("", 5, 0)


def test_short_runs_and_inner_marks_are_text():
    for text in ("****", "**", "(*)", "3.30*", "A*****B", "...", "1,250.00", "SR@6%", "-TAX",
                 "________", "NAME:_______"):  # underscores are blanks to fill in, not decoration
        assert strip_ornaments(text) == (text, 0, 0)


def test_without_ornaments_shrinks_boxes_and_drops_rules():
    words = [OcrWord("**********", (0, 0, 100, 10), 0.5), OcrWord("*****PLEASE", (0, 20, 110, 30), 0.9),
             OcrWord("AGAIN", (0, 40, 50, 50), 0.9)]
    out = without_ornaments(words)
    assert [w.text for w in out] == ["PLEASE", "AGAIN"]
    assert out[0].box_px == (50, 20, 110, 30)
    assert out[1] is words[2]


def _dot(x, y, s=4):
    return (x, y, s, s)


def test_colon_shape():
    h = 30.0
    assert colon_shape([_dot(10, 8), _dot(10, 18)], h) == (10, 8, 14, 22)
    assert colon_shape([_dot(10, 18), _dot(10, 8)], h) == (10, 8, 14, 22)  # any order
    assert colon_shape([_dot(10, 8)], h) is None  # a full stop
    assert colon_shape([_dot(10, 8), _dot(10, 18), _dot(20, 18)], h) is None  # more ink than a colon
    assert colon_shape([_dot(10, 8), _dot(20, 18)], h) is None  # not one above the other
    assert colon_shape([_dot(10, 8), _dot(10, 10)], h) is None  # too close: one blob split
    assert colon_shape([(10, 2, 3, 20), _dot(10, 25)], h) is None  # a stroke, not a dot ('i', '!')


def _row(gap_mark: str | None, colon_grey: int = 0):
    """A 60 px row: a label block at left, an amount block at right (black bars standing for the detected
    lines' ink) and something in the gap between them."""
    img = Image.new("L", (400, 60), 255)
    d = ImageDraw.Draw(img)
    d.rectangle((10, 15, 120, 45), fill=0)
    d.rectangle((300, 15, 380, 45), fill=0)
    if gap_mark == "colon":
        d.rectangle((200, 20, 205, 25), fill=colon_grey)
        d.rectangle((200, 35, 205, 40), fill=colon_grey)
    elif gap_mark == "dot":
        d.rectangle((200, 35, 205, 40), fill=colon_grey)
    elif gap_mark == "letter":
        d.rectangle((190, 18, 196, 42), fill=0)
        d.rectangle((200, 20, 205, 25), fill=0)
        d.rectangle((200, 35, 205, 40), fill=0)
    return np.asarray(img), [(8, 12, 123, 48), (298, 12, 383, 48)]


def test_lone_colon_between_two_lines_of_a_row_is_found():
    gray, boxes = _row("colon")
    assert lone_colons(gray, boxes) == [(200, 20, 206, 41)]


def test_faint_colon_is_found_too():
    gray, boxes = _row("colon", colon_grey=100)  # grey dots, lighter than the text (Otsu would miss them)
    assert len(lone_colons(gray, boxes)) == 1


def test_no_colon_where_the_gap_holds_something_else():
    for mark in (None, "dot", "letter"):
        gray, boxes = _row(mark)
        assert lone_colons(gray, boxes) == []


def test_no_colon_between_lines_of_different_rows():
    gray, _ = _row("colon")
    assert lone_colons(gray, [(8, 0, 123, 20), (298, 40, 383, 60)]) == []


# ---- underlines read as underscores ------------------------------------------------------------------------



@pytest.mark.parametrize("read, words", [
    ("North_DIVISION", ["North", "DIVISION"]),  # the form's rule under filled-in words, read in place of a space
    ("on_12-13-89", ["on", "12-13-89"]),
    ("_relatingtoTobacco", ["relatingtoTobacco"]),  # dropped at the start
    ("not_a.", ["not", "a."]),
    ("095_01/03124", ["095_01/03124"]),  # between digits: part of a number
    ("STUDY_NAME_", ["STUDY", "NAME_"]),  # at the end: a blank to fill in (fields/classify.py's form cue)
    ("NAME________", ["NAME________"]),  # a long run is a blank
    ("________", ["________"]),
    ("first_last@example.com", ["first_last@example.com"]),  # addresses keep theirs
    ("www.a_b.com", ["www.a_b.com"]),
])
def test_underscores_joining_words_split_them(read, words):
    assert split_underlines(read) == words


def test_split_words_share_the_box():
    out = without_underlines([OcrWord("North_DIVISION", (0, 0, 140, 20), 0.9, line=3),
                              OcrWord("TOTAL", (150, 0, 200, 20), 0.9, line=3)])
    assert [(w.text, w.box_px, w.line) for w in out] == [
        ("North", (0, 0, 50, 20), 3), ("DIVISION", (60, 0, 140, 20), 3), ("TOTAL", (150, 0, 200, 20), 3)]


# ---- checkboxes ---------------------------------------------------------------------------------------------


def test_white_squares_are_ballot_boxes_and_words_of_their_own():
    assert ballot_boxes("NO\u25a1") == "NO\u2610" and ballot_boxes("Total") == "Total"
    assert split_boxes("NO\u2610") == ["NO", "\u2610"]
    assert split_boxes("\u261012") == ["\u2610", "12"]
    assert split_boxes("\u2610") == ["\u2610"] and split_boxes("OTHER") == ["OTHER"]
    out = split_words([OcrWord("OTHER\u2610", (0, 0, 60, 10), 0.9)], split_boxes)
    assert [(w.text, w.box_px) for w in out] == [("OTHER", (0, 0, 50, 10)), ("\u2610", (50, 0, 60, 10))]
