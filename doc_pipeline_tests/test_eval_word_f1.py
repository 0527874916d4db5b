"""Word F1 variants: case-insensitive (word_f1_ci) and normalised tokenisation (word_f1_norm)."""

import pytest

from doc_pipeline.core.models import DocumentResult, Page, PageKind
from doc_pipeline.evaluation import metrics as m
from doc_pipeline.evaluation.scoring import METRIC_COLUMNS, score_text


def test_word_tokens_whitespace_and_normalised():
    assert m.word_tokens("TEL : 03-3271  9872") == ["TEL", ":", "03-3271", "9872"]
    # punctuation is a token of its own; '.', ',' and "'" between letters/digits stay inside the word
    assert m.word_tokens("TEL:03-3271 3.30* 1,234.56 don't NO.", casefold=True, split_punct=True) == [
        "tel", ":", "03", "-", "3271", "3.30", "*", "1,234.56", "don't", "no", "."]
    # between letters (or a letter and a digit) '.' and ',' split: U.S. / U. S., P.1 / P. 1
    assert m.word_tokens("U.S. P.1 A,B", split_punct=True) == ["U", ".", "S", ".", "P", ".", "1", "A", ",", "B"]


@pytest.mark.parametrize("casefold,split_punct", [(False, False), (True, False), (True, True)])
def test_word_f1_variants_perfect_and_empty(casefold, split_punct):
    ref = "TOTAL : 4.90\nTel: 03-3271 (RM)"
    assert m.word_f1(ref, ref, casefold, split_punct) == 100
    assert m.word_f1(ref, "", casefold, split_punct) == 0
    assert m.word_f1("", "anything", casefold, split_punct) == 0


def test_case_insensitive_word_f1():
    assert m.word_f1("TOTAL CASH", "Total Cash") == 0
    assert m.word_f1("TOTAL CASH", "Total Cash", casefold=True) == 100


def test_normalised_tokenisation_is_symmetric():
    # the same reading scored against references split differently around punctuation
    for ref, hyp in [("TEL : 03-3271", "Tel:03-3271"), ("617- 4785", "617-4785"), ("3.30 *", "3.30*"),
                     ("09/ 17/ 97", "09/17/97"), ("A. J. Stevens", "A.J.Stevens")]:
        assert m.word_f1(ref, hyp, casefold=True) < 100
        assert m.word_f1(ref, hyp, casefold=True, split_punct=True) == 100
        assert m.word_f1(hyp, ref, casefold=True, split_punct=True) == 100
    # a real misreading still costs: ref tokens tel : 03 - 3271, hyp tel : 03 - 3277 -> tp 4, fp 1, fn 1
    assert m.word_f1("TEL : 03-3271", "TEL:03-3277", True, True) == pytest.approx(800 / 10)


def _result(text: str) -> DocumentResult:
    page = Page(page_no=1, kind=PageKind.scanned, width=100, height=100, text=text)
    return DocumentResult(doc_id="d", status="done", pages=[page])


def test_score_text_reports_all_three_word_f1_columns():
    assert {"word_f1", "word_f1_ci", "word_f1_norm"} <= set(METRIC_COLUMNS)
    s = score_text("TOTAL : 4.90", _result("Total: 4.90"))
    assert s["word_f1"].value == pytest.approx(40)  # only 4.90 matches: tp 1, fp 1, fn 2 -> 2/(2+1+2)
    assert s["word_f1_ci"].value == pytest.approx(40)  # "total:" is still one token
    assert s["word_f1_norm"].value == 100
    perfect = score_text("TOTAL : 4.90", _result("TOTAL : 4.90"))
    assert all(perfect[k].value == 100 for k in ("word_f1", "word_f1_ci", "word_f1_norm"))
    empty = score_text("TOTAL : 4.90", _result(""))
    assert all(empty[k].value == 0 for k in ("word_f1", "word_f1_ci", "word_f1_norm"))


# ---- cer_ci_rows: SROIE's annotated lines re-read in row order ------------------------------------------


def test_row_order_text_reads_a_column_annotated_table_row_by_row():
    # annotated column by column (all items, then all amounts), as SROIE annotates item tables
    lines = [("ITEM A", (10, 100, 90, 120)), ("ITEM B", (10, 130, 90, 150)),
             ("1.30", (300, 101, 340, 121)), ("3.50", (300, 129, 340, 149)), ("TOTAL 4.80", (10, 170, 120, 190))]
    assert m.row_order_text(lines) == "ITEM A 1.30\nITEM B 3.50\nTOTAL 4.80"
    assert m.row_order_text([]) == ""


def test_cer_ci_rows_for_sroie_perfect_and_empty():
    from doc_pipeline.evaluation.corpus import CorpusDocument
    from doc_pipeline.evaluation.scoring import score_document

    quads = {"ITEM A": (10, 100, 90, 120), "1.30": (300, 101, 340, 121), "TOTAL": (10, 130, 90, 150)}
    gt = {"text": "ITEM A\nTOTAL\n1.30", "fields": {},
          "lines": [{"text": t, "quad": [[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]]]}
                    for t, b in quads.items()]}
    doc = CorpusDocument(dataset="sroie", id="s", path=None, gt=gt, entry={})
    rows = score_document(doc, _result("Item A 1.30\nTotal"))
    assert rows["cer_ci_rows"].value == 0
    assert rows["cer_ci"].value > 0  # the annotation order differs from the page's rows
    assert score_document(doc, _result(""))["cer_ci_rows"].value == 100
