"""RapidOCR re-spacing: spaces the recogniser dropped are put back where the line's ink shows a gap."""

import numpy as np

from doc_pipeline.core.ocr.rapid import boundary_gaps, insert_gap_spaces

LH = 20.0  # line height in pixels


def test_gap_between_centres_is_the_widest_ink_free_run():
    ink = np.zeros(40, dtype=bool)
    ink[0:5] = ink[8:10] = ink[30:35] = True  # a, (narrow glyph), b
    assert boundary_gaps([2.0, 9.0, 32.0], ink) == [3, 20]


def test_dropped_space_put_back_as_wide_as_the_lines_own_spaces():
    # "TEL:03 9872": the recogniser kept the space before 9872 (gap 9 px) and dropped one before ':' (gap 8 px)
    txt = "TEL:03 9872"
    gaps = [2, 2, 8, 2, 2, 9, 2, 2, 2]
    assert insert_gap_spaces(txt, gaps, LH) == "TEL :03 9872"


def test_letter_gaps_and_narrow_glyph_bearings_are_not_spaces():
    txt = "3.30*"
    gaps = [3, 3, 2, 3]  # a monospace '.' leaves some air on both sides: still well under 0.4 line heights
    assert insert_gap_spaces(txt, gaps, LH) == txt


def test_line_without_spaces_uses_the_absolute_threshold():
    assert insert_gap_spaces("3.30*", [1, 1, 1, 9], LH) == "3.30 *"  # 0.45 line heights
    assert insert_gap_spaces("AB", [7], LH) == "AB"  # 0.35: not enough without other spaces to compare with


def test_mismatched_gaps_leave_the_text_alone():
    assert insert_gap_spaces("ABC", [9], LH) == "ABC"


def test_decimal_points_are_never_spaced():
    # a monospace '.' between digits leaves wide air on both sides: "5.6600" must not become "5 .6600"
    assert insert_gap_spaces("5.6600", [9, 9, 1, 1, 1], LH) == "5.6600"
    assert insert_gap_spaces("1,250", [9, 9, 1, 1], LH) == "1,250"


def test_monospace_neighbours_one_pitch_apart_are_not_spaced():
    # "(11900)" in a monospace font: wide air between the two 1s (gap 7 of 28 px), but their centres are one cell
    # apart like every other pair of the line; the printed space after ':' puts its neighbours two cells apart
    txt = "VE0S: Ridzuan (11900)"
    centers = [11, 30, 43, 54, 67, 85, 96, 108, 119, 128, 146, 157, 174, 185, 197, 208, 221, 231, 244]
    gaps = [6, 0, 1, 4, 10, 3, 2, 3, 3, 3, 3, 8, 7, 8, 3, 2, 2, 4]
    assert insert_gap_spaces(txt, gaps, 28.0) == "VE0S: Ridzuan ( 1 1900)"  # the ink gap alone
    assert insert_gap_spaces(txt, gaps, 28.0, centers) == txt


def test_pitch_rule_keeps_spaces_two_cells_wide():
    # "TOTAL:4.90" on a 10 px pitch with a dropped space after ':' (centres 20 px apart, gap 9 of 20 px)
    txt = "TOTAL:4.90"
    centers = [0, 10, 20, 30, 40, 50, 70, 80, 90, 100]
    gaps = [2, 2, 2, 2, 3, 9, 2, 2, 2]
    assert insert_gap_spaces(txt, gaps, LH, centers) == "TOTAL: 4.90"


def test_a_gap_beside_a_detached_mark_is_a_space_whatever_the_pitch():
    # "TEL:03-3271" printed "TEL : 03-3271" in a proportional font: the narrow colon keeps its neighbours' centres
    # within a pitch (rule of 1.2 pitches fails) and the gaps (6 px = 0.3 line heights) are under the line's own
    # space (10 px), but next to a colon a gap of 0.25 line heights is a space
    txt = "TEL:03-3271 9872"
    centers = [0, 10, 20, 27, 36, 46, 56, 66, 76, 86, 96, 116, 126, 136, 146]
    gaps = [2, 2, 6, 6, 2, 2, 2, 2, 2, 2, 10, 2, 2, 2]
    assert insert_gap_spaces(txt, gaps, LH, centers) == "TEL : 03-3271 9872"


def test_a_colon_set_tight_against_its_word_stays_attached():
    txt = "Date:23/12/17 Time:7:13"
    chars = [c for c in txt if c != " "]
    centers = [10.0 * i for i in range(len(chars))]
    gaps = [2] * (len(chars) - 1)
    gaps[3] = gaps[4] = 4  # 0.2 line heights either side of "Date:": under DETACHED_GAP
    gaps[12] = 12  # the recognised space
    assert insert_gap_spaces(txt, gaps, LH, centers) == txt


def test_detached_marks_only_next_to_something_else():
    # two marks side by side ("**") or a decimal point are no place for the rule
    assert insert_gap_spaces("3.30**", [1, 1, 1, 6, 6], LH, [0, 10, 20, 30, 40, 50]) == "3.30 **"
    assert insert_gap_spaces("4.90", [6, 6, 1], LH, [0, 10, 20, 30]) == "4.90"


def test_a_colon_between_digits_is_a_time_not_a_detached_mark():
    # "20:41:44" in a monospace font: the colon's cell leaves 0.3 line heights of air either side
    assert insert_gap_spaces("20:41:44", [1, 6, 6, 1, 6, 6, 1], LH, [0, 10, 20, 30, 40, 50, 60, 70]) == "20:41:44"
