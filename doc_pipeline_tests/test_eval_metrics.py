"""Every metric: perfect prediction, empty prediction, and one partial case computed by hand."""

from decimal import Decimal

import pytest

from doc_pipeline.evaluation import metrics as m


# ---- text ---------------------------------------------------------------------------------------------


def test_cer_perfect_empty_partial():
    assert m.cer("abcd", "abcd") == 0
    assert m.cer("abcd", "") == 100
    assert m.cer("abcd", "abxd") == pytest.approx(25.0)  # 1 substitution / 4 chars
    assert m.cer("ab", "abcdef") == 100  # 4 insertions / 2 chars = 200%, clipped


def test_cer_case_and_whitespace():
    assert m.cer("Total  Due\n9.00", "Total Due 9.00") == 0  # whitespace runs collapse
    assert m.cer("ABC", "abc") == 100
    assert m.cer("ABC", "abc", casefold=True) == 0


def test_wer_perfect_empty_partial():
    assert m.wer("the cat sat", "the cat sat") == 0
    assert m.wer("the cat sat", "") == 100
    assert m.wer("the cat sat", "the bat sat") == pytest.approx(100 / 3)
    assert m.wer("The Cat", "the cat", casefold=True) == 0
    assert m.wer("The Cat", "the cat") == 100


def test_word_f1_is_order_free():
    assert m.word_f1("a b c d", "d c b a") == 100
    assert m.word_f1("a b c d", "") == 0
    # tp=2 (a, b), fp=1 (x), fn=2 (c, d): F1 = 2*2 / (2*2 + 1 + 2)
    assert m.word_f1("a b c d", "a b x") == pytest.approx(400 / 7)
    # multiset: a repeated word only counts as often as it is in the reference
    assert m.word_bag_counts("a a b", "a a a").tp == 2


def test_micro_aggregation_pools_counts():
    pooled = m.cer_ratio("abcd", "abxd") + m.cer_ratio("abcdefgh", "abcdefgh")
    assert pooled.value == pytest.approx(100 * 1 / 12)  # corpus CER: 1 edit over 12 characters


# ---- boxes, detection, layout -------------------------------------------------------------------------


def test_iou():
    assert m.iou((0, 0, 2, 2), (0, 0, 2, 2)) == 1
    assert m.iou((0, 0, 2, 2), (5, 5, 6, 6)) == 0
    assert m.iou((0, 0, 2, 2), (1, 0, 3, 2)) == pytest.approx(1 / 3)  # overlap 2, union 6


def test_bottom_left_to_top_left():
    # ICDAR 2013 eu-001 table 1 on an A4 page (842 pt high)
    assert m.bottom_left_to_top_left((100, 451, 482, 543), 842) == (100, 299, 482, 391)
    assert m.bottom_left_to_top_left((110, 10, 120, 20), 100, page_left=10) == (100, 80, 110, 90)


def test_table_detection_recall():
    gt = [(1, (0, 0, 100, 100)), (2, (0, 0, 100, 100))]
    assert m.table_detection_recall(gt, gt) == 100
    assert m.table_detection_recall(gt, []) == 0
    # page 1 found (IoU 0.9), page 2 table predicted on page 3: 1 of 2
    pred = [(1, (0, 0, 100, 90)), (3, (0, 0, 100, 100))]
    assert m.table_detection_recall(gt, pred) == 50
    counts = m.detection_counts(gt, pred)
    assert (counts.tp, counts.fp, counts.fn) == (1, 1, 1)
    # IoU below 0.5 does not count
    assert m.table_detection_recall([(1, (0, 0, 100, 100))], [(1, (0, 0, 100, 40))]) == 0


def test_greedy_match_is_one_to_one():
    gt = [(0, 0, 10, 10)]
    pred = [(0, 0, 10, 10), (0, 0, 10, 9)]
    assert m.greedy_match(gt, pred) == [(0, 0, 1.0)]


def test_layout_f1():
    gt = [("text", (0, 0, 100, 50)), ("title", (0, 60, 100, 70))]
    assert m.layout_f1(gt, gt) == 100
    assert m.layout_f1(gt, []) == 0
    # text found (IoU 0.9); title predicted as "text" somewhere else and the real title missed:
    # text: tp 1, fp 1; title: fn 1 -> F1 = 2 / (2 + 1 + 1)
    pred = [("text", (0, 0, 100, 45)), ("text", (0, 60, 100, 70))]
    assert m.layout_f1(gt, pred) == 50
    per_class = m.layout_counts(gt, pred)
    assert per_class["title"].recall.value == 0
    assert per_class["text"].precision.value == 50


def test_token_label_accuracy():
    tokens = [("text", (1, 1, 2, 2)), ("title", (1, 8, 2, 9)), ("text", (50, 50, 51, 51))]
    blocks = [("text", (0, 0, 10, 10)), ("title", (0, 7, 10, 10))]
    # token 1 in text block; token 2 in both, smallest is title; token 3 in no block
    assert m.token_label_ratio(tokens, blocks).value == pytest.approx(200 / 3)
    assert m.token_label_ratio(tokens, []).value == 0
    assert m.token_label_ratio(tokens[:2], blocks).value == 100


# ---- tables -------------------------------------------------------------------------------------------

GRID = [["a", "b"], ["c", "d"]]


def test_table_cell_f1():
    assert m.table_cell_f1(GRID, GRID) == 100
    assert m.table_cell_f1(GRID, []) == 0
    assert m.table_cell_f1(GRID, [["a", "b"], ["c", "x"]]) == 75  # tp 3, fp 1, fn 1
    assert m.table_cell_f1([["Read & \nWrite"]], [["read &  write"]]) == 100  # whitespace + case normalised


def test_adjacency_relations_and_f1():
    assert sorted(m.adjacency_relations(GRID)) == sorted(
        [("a", "b", "h"), ("a", "c", "v"), ("b", "d", "v"), ("c", "d", "h")]
    )
    # empty cells are skipped: a's right neighbour is b
    assert m.adjacency_relations([["a", "", "b"]]) == [("a", "b", "h")]
    assert m.table_adjacency_f1(GRID, GRID) == 100
    assert m.table_adjacency_f1(GRID, []) == 0
    # b->x and c->x replace b->d and c->d: tp 2, fp 2, fn 2
    assert m.table_adjacency_f1(GRID, [["a", "b"], ["c", "x"]]) == 50
    # same cells, transposed: content perfect, structure half wrong
    assert m.table_cell_f1(GRID, [["a", "c"], ["b", "d"]]) == 100
    assert m.table_adjacency_f1(GRID, [["a", "c"], ["b", "d"]]) == 0


def test_tables_counts_pairs_tables_and_counts_unpaired():
    t1, t2 = [["a", "b"], ["c", "d"]], [["x", "y"]]
    perfect = m.tables_counts([(1, t1), (1, t2)], [(1, t2), (1, t1)])
    assert perfect["cell"].f1.value == 100 and perfect["adjacency"].f1.value == 100
    missing = m.tables_counts([(1, t1), (1, t2)], [(1, t1)])
    assert (missing["cell"].tp, missing["cell"].fn) == (4, 2)
    # the right table on the wrong page does not pair
    assert m.tables_counts([(1, t1)], [(2, t1)])["cell"].tp == 0
    assert m.tables_counts([(None, t1)], [(2, t1)])["cell"].tp == 4


def test_html_table_to_grid_spans():
    html = (
        "<table><thead><tr><td rowspan=\"2\">k</td><td colspan=\"2\"><b>h</b></td></tr>"
        "<tr><td>x</td><td>y</td></tr></thead><tbody><tr><td>1</td><td>2</td><td>3</td></tr></tbody></table>"
    )
    assert m.html_table_to_grid(html) == [["k", "h", None], [None, "x", "y"], ["1", "2", "3"]]


# ---- kinds --------------------------------------------------------------------------------------------


def test_kind_accuracy():
    expected = [{"native"}, {"scanned"}, {"native", "scanned"}]
    assert m.kind_accuracy(expected, ["native", "scanned", "scanned"]) == 100
    assert m.kind_accuracy(expected, []) == 0
    assert m.kind_accuracy(expected, ["native", "native", "scanned"]) == pytest.approx(200 / 3)


# ---- fields -------------------------------------------------------------------------------------------


def test_normalize_field_values():
    assert m.normalize_field("25/12/2018", "date", dayfirst=True) == "2018-12-25"
    assert m.normalize_field("05/01/2018", "date", dayfirst=True) == "2018-01-05"
    assert m.normalize_field("2018-01-05", "date", dayfirst=True) == "2018-01-05"  # ISO stays ISO
    assert m.normalize_field("RM 1,234.50", "amount") == Decimal("1234.5")
    assert m.normalize_field("1.234,50 EUR", "amount") == Decimal("1234.5")
    assert m.normalize_field("9,00", "amount") == m.normalize_field(9.0, "amount")
    assert m.normalize_field("€", "currency") == "EUR"
    assert m.normalize_field("3_years", "term") == m.normalize_field("P3Y", "term") == "3 year"
    assert m.normalize_field("  Liquidmetal_Technology  Inc. ", "text") == "liquidmetal technology inc"


def test_field_f1():
    gt = {"party": {"a", "b"}, "term": {"3 year"}}
    assert m.field_f1(gt, gt) == 100
    assert m.field_f1(gt, {}) == 0
    # party: tp 1 (a), fp 1 (c), fn 1 (b); term: fn 1 -> F1 = 2 / (2 + 1 + 2)
    assert m.field_f1(gt, {"party": {"a", "c"}}) == 40
    # a key without an answer: predicting a value is wrong, predicting nothing is right
    assert m.field_f1({"term": set()}, {"term": {"x"}}) == 0
    assert m.field_f1({"term": set()}, {}) == 100
    # predicted fields not asked for are not scored
    assert m.field_f1({"date": {"2018-01-01"}}, {"date": {"2018-01-01"}, "other": {"z"}}) == 100


def test_kv_pair_f1():
    gt = [("TO:", "George Baroody"), ("DATE:", "12/10/98")]
    assert m.kv_pair_f1(gt, gt) == 100
    assert m.kv_pair_f1(gt, []) == 0
    pred = [("To", "george baroody"), ("Date", "12/10/99")]
    assert m.kv_pair_f1(gt, pred) == 50  # exact after normalisation: 1 of 2 on each side
    assert m.kv_pair_f1(gt, pred, min_similarity=0.8) == 100  # '12/10/98' vs '12/10/99': 7/8 similar
