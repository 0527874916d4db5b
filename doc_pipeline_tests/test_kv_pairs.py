"""Layout key-value pairing (core/fields/kv.py) on synthetic word boxes, and the FUNSD pair comparison form."""

from __future__ import annotations

from doc_pipeline.core.fields.kv import kv_pairs, phrases
from doc_pipeline.core.models import Page, PageKind, Word
from doc_pipeline.evaluation.scoring import kv_compare_form, kv_counts

CH = 6.0  # points per character
LH = 10.0  # word height


def page(items: list[tuple[float, float, str]]) -> Page:
    """(x, y, text) phrases; words 6 pt per character, one space between words."""
    words = []
    for x, y, text in items:
        for tok in text.split():
            words.append(Word(text=tok, bbox=(x, y, x + CH * len(tok), y + LH), conf=0.95))
            x += CH * (len(tok) + 1)
    return Page(page_no=1, kind=PageKind.scanned, width=595, height=842, words=words)


def pairs(p: Page) -> list[tuple[str, str]]:
    return [(f.name, f.value) for f in kv_pairs([p])]


def test_table_header_pairs_every_cell_below_and_stacked_header_lines():
    items = [(40, 100, "NO. OF")]  # a two-line header: "NO. OF" above "STORES"
    items += [(200, 114, "NAME OF ACCOUNT"), (40, 114, "STORES")]
    rows = [("12", "Acme Mart"), ("7", "Quick Stop"), ("31", "Corner Shop")]
    for i, (n, name) in enumerate(rows):
        items += [(46, 150 + 16 * i, n), (200, 150 + 16 * i, name)]
    got = pairs(page(items))
    assert ("no. of stores", "12") in got and ("no. of stores", "31") in got
    assert [v for k, v in got if k == "name of account"] == ["Acme Mart", "Quick Stop", "Corner Shop"]


def test_table_with_label_colon_headers_and_cells_read_closer_than_the_phrase_gap():
    items = [(40, 100, "Recipient:"), (200, 100, "Company:"), (360, 100, "Fax No.:")]
    # the company and fax cells sit 1 character apart: one phrase by gap, two cells by the header columns
    items += [(40, 116, "Mr. A. Smith"), (200, 116, "Smith & Sons Ltd."), (200 + CH * 18, 116, "555-0101")]
    items += [(40, 132, "Ms. B. Jones"), (200, 132, "Jones Corp."), (360, 132, "555-0202")]
    got = pairs(page(items))
    assert ("company", "Smith & Sons Ltd.") in got and ("fax no.", "555-0101") in got
    assert ("recipient", "Ms. B. Jones") in got and ("fax no.", "555-0202") in got


def test_label_one_value_right_else_below_and_check_marks():
    items = [(40, 100, "TO:"), (120, 100, "George Baroody"),
             (40, 130, "SUBJECT:"), (40, 144, "Quarterly report"),
             (300, 100, "SEP 15"), (350, 100, "x"),  # a ticked box answers the label left of it
             (300, 170, "OCT 20"), (350, 170, "☐")]  # an empty box is no answer
    got = pairs(page(items))
    assert ("to", "George Baroody") in got
    assert ("subject", "Quarterly report") in got
    assert ("sep 15", "x") in got
    assert not any(v == "☐" for _, v in got)
    assert [k for k, _ in got].count("to") == 1  # one value per label


def test_phrases_split_before_an_upper_case_label_after_other_text():
    p = page([(40, 100, "Milw. South DIVISION NAME:")])
    assert [ph.text for ph in phrases(p)[0]] == ["Milw. South", "DIVISION NAME:"]


def test_pair_comparison_ignores_spaces_at_punctuation_only():
    assert kv_compare_form("12 /10 /98") == kv_compare_form("12/10/98")
    assert kv_compare_form("(614) 466- 5087") == kv_compare_form("(614)466-5087")
    assert kv_compare_form("George Baroody") != kv_compare_form("GeorgeBaroody")
    c = kv_counts([("DATE:", "12 /10 /98")], [("date", "12/10/98")])
    assert (c.tp, c.fp, c.fn) == (1, 0, 0)
