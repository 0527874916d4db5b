"""Reading order with layout regions: table columns (shared rows) are read row by row, prose columns one after
the other. Synthetic word boxes (pixels), no engine involved."""

from doc_pipeline.core.ocr.base import OcrWord, words_to_points
from doc_pipeline.core.ocr.reading_order import merge_table_regions, order_words
from doc_pipeline.core.text import words_to_text

ROW = 30  # pixels from one row to the next; words are 20 px high


def w(text, x0, y0, x1, y1, line):
    return OcrWord(text=text, box_px=(x0, y0, x1, y1), conf=0.9, line=line, block=0)


def line(text, x0, y, line_no, word_px=60):
    """One engine line: its words left to right from x0 on row y."""
    return [w(t, x0 + i * (word_px + 10), y, x0 + i * (word_px + 10) + word_px, y + 20, line_no)
            for i, t in enumerate(text.split())]


def text(words, regions=None):
    return words_to_text(words_to_points(order_words(words, regions), 72))


ITEMS = [("PEN BLUE", "1.30 *"), ("RULER 30CM", "3.50 *"), ("LAMINATE FILM", "0.85 *"), ("TOTAL", "5.65")]


def item_table(x_desc=20, x_amount=400, y0=100):
    """A receipt's item table: descriptions on the left, amounts far right, each cell its own engine line."""
    words, n = [], 0
    for i, (desc, amount) in enumerate(ITEMS):
        words += line(desc, x_desc, y0 + ROW * i, n)
        words += line(amount, x_amount, y0 + ROW * i, n + 1)
        n += 2
    return words


ROWWISE = "PEN BLUE 1.30 *\nRULER 30CM 3.50 *\nLAMINATE FILM 0.85 *\nTOTAL 5.65"


def test_item_table_without_regions_is_read_row_by_row():
    assert text(item_table()) == ROWWISE


def test_item_table_split_into_two_layout_regions_is_still_read_row_by_row():
    # the layout model boxed the description column and the amount column separately
    regions = [(10, 90, 300, 230), (390, 90, 560, 230)]
    assert text(item_table(), regions) == ROWWISE


def test_item_table_regions_in_either_order_and_three_columns():
    words, n = [], 0
    for i, (desc, amount) in enumerate(ITEMS):
        words += line(desc, 20, 100 + ROW * i, n) + line("1", 330, 100 + ROW * i, n + 1, word_px=15)
        words += line(amount, 400, 100 + ROW * i, n + 2)
        n += 3
    regions = [(390, 90, 560, 230), (10, 90, 300, 230), (320, 90, 350, 230)]  # amount, description, qty
    expected = "\n".join(f"{d} 1 {a}" for d, a in ITEMS)
    assert text(words, regions) == expected


def test_table_regions_keep_their_place_between_header_and_footer():
    header = line("TEO HENG STATIONERY", 100, 20, 50)
    footer = line("THANK YOU", 150, 300, 51)
    regions = [(90, 10, 400, 45), (10, 90, 300, 230), (390, 90, 560, 230), (140, 290, 400, 325)]
    assert text(footer + item_table() + header, regions) == f"TEO HENG STATIONERY\n{ROWWISE}\nTHANK YOU"


def test_prose_columns_with_aligned_baselines_stay_columns():
    left = [x for i in range(4) for x in line("the quick brown fox jumps", 20, 100 + ROW * i, i, word_px=40)]
    right = [x for i in range(4) for x in line("over the lazy dog again", 320, 100 + ROW * i, 10 + i, word_px=40)]
    regions = [(10, 90, 270, 230), (310, 90, 570, 230)]
    out = text(right + left, regions).splitlines()
    assert out == ["the quick brown fox jumps"] * 4 + ["over the lazy dog again"] * 4


def test_side_by_side_lists_on_different_rows_stay_columns():
    # two short lists whose lines do not share rows (the right one sits between the left one's rows)
    left = [x for i in range(4) for x in line(f"a{i}", 20, 100 + 40 * i, i)]
    right = [x for i in range(3) for x in line(f"b{i}", 320, 120 + 40 * i, 10 + i)]
    regions = [(10, 90, 200, 250), (310, 90, 500, 250)]
    assert text(right + left, regions).split() == ["a0", "a1", "a2", "a3", "b0", "b1", "b2"]


def test_heading_beside_a_paragraph_of_the_other_column_is_not_a_table():
    # left column: a two-line heading level with the first lines of the right column's paragraph
    heading = line("2 Related", 20, 100, 0) + line("Work", 20, 130, 1)
    para = [x for i in range(8) for x in line("words of running text here", 320, 100 + ROW * i, 10 + i, word_px=40)]
    left_para = [x for i in range(3) for x in line("more words of the left column", 20, 200 + ROW * i, 20 + i,
                                                    word_px=30)]
    regions = [(10, 90, 270, 160), (10, 190, 270, 290), (310, 90, 570, 350)]
    out = text(para + heading + left_para, regions).splitlines()
    assert out[:2] == ["2 Related", "Work"] and out[2] == "more words of the left column"
    assert out[5:] == ["words of running text here"] * 8


def test_item_table_with_wrapped_descriptions_is_read_row_by_row():
    # each item: code and amount on one row, the description wrapped onto the next row (left region only)
    words, n, expected = [], 0, []
    for i in range(3):
        y = 100 + 2 * ROW * i
        words += line(f"955706800{i}", 20, y, n) + line(f"{i}.30", 400, y, n + 1)
        words += line(f"- ITEM {i} THICK", 20, y + ROW, n + 2)
        n += 3
        expected += [f"955706800{i} {i}.30", f"- ITEM {i} THICK"]
    regions = [(10, 90, 300, 290), (390, 90, 560, 290)]
    assert text(words, regions).splitlines() == expected
