"""Pure scoring functions for the evaluation harness.

Every metric is a ratio ``num / den`` (see :class:`Ratio`) so that a corpus can be aggregated two ways:
*micro* (sum the numerators and denominators of all documents, then divide) and *macro* (mean of the
per-document values). The public ``<metric>()`` helpers return the per-document value on a 0..100 scale:

- F1 / recall / precision / accuracy: perfect prediction = 100, empty prediction = 0.
- CER / WER are *error rates*: perfect = 0, empty prediction = 100 (clipped at 100, see :func:`cer`).

F1 is written as a ratio too: ``F1 = 2*TP / (2*TP + FP + FN)``, so micro-F1 over documents is simply
the ratio of the summed numerators and denominators.

Nothing here reads files or knows about the pipeline; the runner converts ``DocumentResult`` and the
ground-truth JSON into the plain lists and dicts these functions take.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser
from typing import Any

from doc_pipeline.core.tables import iou  # noqa: F401 - box IoU, shared with the table model

from dateutil import parser as date_parser
from rapidfuzz.distance import Levenshtein

Box = Sequence[float]  # [x0, y0, x1, y1], same coordinate system on both sides of a comparison

PUBLAYNET_CLASSES: tuple[str, ...] = ("text", "title", "list", "table", "figure")


# --------------------------------------------------------------------------------------------- ratios


@dataclass(frozen=True)
class Ratio:
    """A score as ``num / den``; ``value`` is on the 0..100 scale, None when there was nothing to measure."""

    num: float
    den: float
    clip: bool = False  # error rates can exceed 100% (insertions); clip the reported value at 100

    @property
    def value(self) -> float | None:
        if self.den == 0:
            return None
        v = 100.0 * self.num / self.den
        return min(v, 100.0) if self.clip else v

    def __add__(self, other: Ratio) -> Ratio:
        return Ratio(self.num + other.num, self.den + other.den, self.clip or other.clip)


@dataclass(frozen=True)
class PRCounts:
    """True positives, false positives, false negatives of a matching."""

    tp: float = 0
    fp: float = 0
    fn: float = 0

    def __add__(self, other: PRCounts) -> PRCounts:
        return PRCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def f1(self) -> Ratio:
        return Ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    @property
    def precision(self) -> Ratio:
        return Ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> Ratio:
        return Ratio(self.tp, self.tp + self.fn)


def multiset_counts(gt: Iterable[Hashable], pred: Iterable[Hashable]) -> PRCounts:
    """Order-free matching of two multisets: an item counts as often as it occurs on both sides."""
    g, p = Counter(gt), Counter(pred)
    tp = sum((g & p).values())
    return PRCounts(tp=tp, fp=sum(p.values()) - tp, fn=sum(g.values()) - tp)


def _value(r: Ratio, empty_is_perfect: bool = False) -> float:
    """Per-document value; with nothing on either side, 100 (nothing to find, nothing wrongly found)."""
    v = r.value
    if v is None:
        return 100.0 if empty_is_perfect else 0.0
    return v


# --------------------------------------------------------------------------------------------- text


_WS = re.compile(r"\s+")


def normalize_whitespace(text: str) -> str:
    """Collapse every run of whitespace (spaces, tabs, newlines) into one space and strip the ends."""
    return _WS.sub(" ", text or "").strip()


def _prep(text: str, casefold: bool) -> str:
    text = normalize_whitespace(text)
    return text.casefold() if casefold else text


def cer_ratio(reference: str, hypothesis: str, casefold: bool = False) -> Ratio:
    """Character error rate: Levenshtein edits (ins+del+sub) / reference characters, whitespace normalised."""
    ref, hyp = _prep(reference, casefold), _prep(hypothesis, casefold)
    if not ref:
        return Ratio(float(len(hyp)), float(len(hyp)), clip=True)  # empty reference: any output is all error
    return Ratio(float(Levenshtein.distance(ref, hyp)), float(len(ref)), clip=True)


def wer_ratio(reference: str, hypothesis: str, casefold: bool = False) -> Ratio:
    """Word error rate: Levenshtein edits over word tokens (split on whitespace) / reference words."""
    ref, hyp = _prep(reference, casefold).split(), _prep(hypothesis, casefold).split()
    if not ref:
        return Ratio(float(len(hyp)), float(len(hyp)), clip=True)
    return Ratio(float(Levenshtein.distance(ref, hyp)), float(len(ref)), clip=True)


def cer(reference: str, hypothesis: str, casefold: bool = False) -> float:
    """CER in percent: 0 = perfect, 100 = nothing right (values above 100 from insertions are clipped)."""
    return _value(cer_ratio(reference, hypothesis, casefold))


def wer(reference: str, hypothesis: str, casefold: bool = False) -> float:
    """WER in percent: 0 = perfect, 100 = nothing right (clipped at 100)."""
    return _value(wer_ratio(reference, hypothesis, casefold))


# A token of the normalised tokenisation: a run of letters/digits, possibly joined by '.' or ',' between two digits
# (3.30, 1,234.56) or by an apostrophe between two letters (don't); every other non-space character is a token of
# its own (so 'U.S.' and 'U. S.', 'P.1' and 'P. 1' give the same tokens).
_NORM_TOKEN = re.compile(r"\w+(?:(?:(?<=\d)[.,](?=\d)|(?<=[^\W\d_])['’](?=[^\W\d_]))\w+)*|[^\w\s]")


def word_tokens(text: str, casefold: bool = False, split_punct: bool = False) -> list[str]:
    """Words of a text: whitespace tokens, or with ``split_punct`` the normalised tokens of ``_NORM_TOKEN``.

    ``split_punct`` makes the bag independent of where spaces fall around punctuation: ``TEL:03-3271``,
    ``TEL : 03-3271`` and ``TEL : 03 - 3271`` all give ``TEL : 03 - 3271``; ``617-`` ``4785`` and ``617-4785``
    both give ``617 - 4785``. Applied to reference and prediction alike.
    """
    text = _prep(text, casefold)
    return _NORM_TOKEN.findall(text) if split_punct else text.split()


def word_bag_counts(reference: str, hypothesis: str, casefold: bool = False, split_punct: bool = False) -> PRCounts:
    """Bag-of-words matching: words (see :func:`word_tokens`) as multisets, reading order ignored."""
    return multiset_counts(word_tokens(reference, casefold, split_punct), word_tokens(hypothesis, casefold, split_punct))


def word_f1(reference: str, hypothesis: str, casefold: bool = False, split_punct: bool = False) -> float:
    """Order-free word F1 (multiset precision/recall of words); robust where reading order is undefined."""
    return _value(word_bag_counts(reference, hypothesis, casefold, split_punct).f1)


def row_order_text(lines: Sequence[tuple[str, Box]], overlap: float = 0.5) -> str:
    """Annotated lines ``(text, [x0, y0, x1, y1])`` re-read in row order: one output line per row.

    Lines are taken by vertical centre; a line joins the most recent row whose first line it overlaps vertically
    by ``overlap`` of the smaller height (and no line of which it overlaps horizontally), else it starts a row;
    rows top to bottom, each left to right. Used to give a reference annotated in another order (SROIE reads
    item tables column by column) the reading order of the page, from its own boxes.
    """
    items = sorted(((tuple(b), t) for t, b in lines), key=lambda x: ((x[0][1] + x[0][3]) / 2, x[0][0]))
    rows: list[list[tuple[tuple[float, ...], str]]] = []
    for box, t in items:
        h = box[3] - box[1]
        for row in reversed(rows[-4:]):
            a = row[0][0]
            ov = min(a[3], box[3]) - max(a[1], box[1])
            if ov >= overlap * min(h, a[3] - a[1]) and not any(min(b[2], box[2]) - max(b[0], box[0]) > 0 for b, _ in row):
                row.append((box, t))
                break
        else:
            rows.append([(box, t)])
    rows.sort(key=lambda r: (r[0][0][1] + r[0][0][3]) / 2)
    return "\n".join(" ".join(t for _, t in sorted(r, key=lambda x: x[0][0])) for r in rows)


# --------------------------------------------------------------------------------------------- boxes


def greedy_match(gt: Sequence[Box], pred: Sequence[Box], threshold: float = 0.5) -> list[tuple[int, int, float]]:
    """One-to-one matching: all pairs with IoU >= threshold, taken by descending IoU (COCO-style greedy)."""
    pairs = [(iou(g, p), gi, pi) for gi, g in enumerate(gt) for pi, p in enumerate(pred)]
    pairs = [x for x in pairs if x[0] >= threshold]
    pairs.sort(key=lambda x: (-x[0], x[1], x[2]))
    used_g: set[int] = set()
    used_p: set[int] = set()
    out = []
    for score, gi, pi in pairs:
        if gi in used_g or pi in used_p:
            continue
        used_g.add(gi)
        used_p.add(pi)
        out.append((gi, pi, score))
    return out


def bottom_left_to_top_left(bbox: Box, page_top: float, page_left: float = 0.0) -> tuple[float, float, float, float]:
    """PDF user space (origin bottom-left, y up) -> our convention (origin top-left, y down).

    ``page_top`` is the y of the page's top edge in user space (the MediaBox y1, usually the page height),
    ``page_left`` the MediaBox x0. Only unrotated pages (/Rotate 0) are handled.
    """
    x0, y0, x1, y1 = bbox
    ya, yb = page_top - y0, page_top - y1
    return (min(x0, x1) - page_left, min(ya, yb), max(x0, x1) - page_left, max(ya, yb))


def scale_box(bbox: Box, sx: float, sy: float) -> tuple[float, float, float, float]:
    """Multiply x by sx and y by sy, e.g. pixels -> fraction of page with sx = 1/width."""
    return (bbox[0] * sx, bbox[1] * sy, bbox[2] * sx, bbox[3] * sy)


def detection_counts(
    gt: Sequence[tuple[int, Box]], pred: Sequence[tuple[int, Box | None]], threshold: float = 0.5
) -> PRCounts:
    """Region detection on pages: ``(page_no, bbox)`` items matched greedily at IoU >= threshold per page.

    A predicted region without a bbox cannot be located and is left out (neither matched nor a false positive).
    """
    pred = [(p, b) for p, b in pred if b is not None]
    tp = 0
    for page in {p for p, _ in gt} | {p for p, _ in pred}:
        g = [b for p, b in gt if p == page]
        pr = [b for p, b in pred if p == page]
        tp += len(greedy_match(g, pr, threshold))
    return PRCounts(tp=tp, fp=len(pred) - tp, fn=len(gt) - tp)


def table_detection_recall(gt: Sequence[tuple[int, Box]], pred: Sequence[tuple[int, Box | None]]) -> float:
    """Share of ground-truth table regions found by a predicted table on the same page with IoU >= 0.5."""
    return _value(detection_counts(gt, pred).recall)


def layout_counts(
    gt: Sequence[tuple[str, Box]],
    pred: Sequence[tuple[str, Box]],
    classes: Sequence[str] = PUBLAYNET_CLASSES,
    threshold: float = 0.5,
) -> dict[str, PRCounts]:
    """Per-class block matching (same class, IoU >= threshold, greedy). Blocks of other classes are ignored."""
    out = {}
    for cls in classes:
        g = [b for c, b in gt if c == cls]
        p = [b for c, b in pred if c == cls]
        tp = len(greedy_match(g, p, threshold))
        out[cls] = PRCounts(tp=tp, fp=len(p) - tp, fn=len(g) - tp)
    return out


def layout_f1(gt: Sequence[tuple[str, Box]], pred: Sequence[tuple[str, Box]], threshold: float = 0.5) -> float:
    """Micro F1 over the PubLayNet classes of :func:`layout_counts`."""
    total = sum(layout_counts(gt, pred, threshold=threshold).values(), PRCounts())
    return _value(total.f1)


def token_label_ratio(tokens: Sequence[tuple[str, Box]], blocks: Sequence[tuple[str, Box]]) -> Ratio:
    """Token labelling accuracy: a token takes the class of the smallest predicted block holding its centre.

    Tokens with no block around them get no class (wrong). Both sides must share a coordinate system.
    """
    correct = 0
    for label, box in tokens:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        inside = [
            ((b[2] - b[0]) * (b[3] - b[1]), cls)
            for cls, b in blocks
            if min(b[0], b[2]) <= cx <= max(b[0], b[2]) and min(b[1], b[3]) <= cy <= max(b[1], b[3])
        ]
        if inside and min(inside, key=lambda x: x[0])[1] == label:
            correct += 1
    return Ratio(correct, len(tokens))


# --------------------------------------------------------------------------------------------- tables

Grid = Sequence[Sequence[str | None]]


def normalize_cell(text: str | None) -> str:
    """Cell text for comparison: whitespace collapsed (cells often keep '\\n'), casefolded."""
    return normalize_whitespace(text or "").casefold()


def grid_cells(grid: Grid) -> list[str]:
    """The non-empty normalised cell texts of a grid (span-covered positions are None or '')."""
    return [c for row in grid for c in (normalize_cell(x) for x in row) if c]


def cell_content_counts(gt: Grid, pred: Grid) -> PRCounts:
    """Cell-content matching: non-empty normalised cell texts of one table as multisets (position-free)."""
    return multiset_counts(grid_cells(gt), grid_cells(pred))


def adjacency_relations(grid: Grid) -> list[tuple[str, str, str]]:
    """ICDAR 2013 adjacency relations of a grid.

    For every non-empty cell: (its text, text of the nearest non-empty cell to its right in the same row, "h")
    and (its text, text of the nearest non-empty cell below it in the same column, "v"). Empty cells are
    skipped over, as in Goebel et al. 2013; spanning cells are taken at their start position.
    """
    rows = [[normalize_cell(x) for x in row] for row in grid]
    n_cols = max((len(r) for r in rows), default=0)
    rows = [r + [""] * (n_cols - len(r)) for r in rows]
    rel = []
    for i, row in enumerate(rows):
        for j, text in enumerate(row):
            if not text:
                continue
            right = next((row[k] for k in range(j + 1, n_cols) if row[k]), None)
            if right is not None:
                rel.append((text, right, "h"))
            below = next((rows[k][j] for k in range(i + 1, len(rows)) if rows[k][j]), None)
            if below is not None:
                rel.append((text, below, "v"))
    return rel


def adjacency_counts(gt: Grid, pred: Grid) -> PRCounts:
    """Adjacency-relation matching of two grids (multisets of relations)."""
    return multiset_counts(adjacency_relations(gt), adjacency_relations(pred))


def table_cell_f1(gt: Grid, pred: Grid) -> float:
    """Cell-content F1 of one table pair."""
    return _value(cell_content_counts(gt, pred).f1)


def table_adjacency_f1(gt: Grid, pred: Grid) -> float:
    """ICDAR 2013 adjacency-relation F1 of one table pair (the structure measure)."""
    return _value(adjacency_counts(gt, pred).f1)


def match_tables(
    gt: Sequence[tuple[int | None, Grid]], pred: Sequence[tuple[int | None, Grid]]
) -> list[tuple[int, int]]:
    """Pair ground-truth and predicted tables one-to-one by descending cell-content F1 (pairs with F1 > 0).

    Items are ``(page_no or None, grid)``; when both sides know the page, only tables on the same page pair.
    """
    cand = []
    for gi, (gp, gg) in enumerate(gt):
        for pi, (pp, pg) in enumerate(pred):
            if gp is not None and pp is not None and gp != pp:
                continue
            f1 = cell_content_counts(gg, pg).f1.value or 0.0
            if f1 > 0:
                cand.append((f1, gi, pi))
    cand.sort(key=lambda x: (-x[0], x[1], x[2]))
    used_g: set[int] = set()
    used_p: set[int] = set()
    out = []
    for _, gi, pi in cand:
        if gi not in used_g and pi not in used_p:
            used_g.add(gi)
            used_p.add(pi)
            out.append((gi, pi))
    return out


def tables_counts(
    gt: Sequence[tuple[int | None, Grid]], pred: Sequence[tuple[int | None, Grid]]
) -> dict[str, PRCounts]:
    """Document-level table structure counts: {'cell': ..., 'adjacency': ...}.

    Tables are paired by :func:`match_tables`; an unpaired ground-truth table contributes all its cells and
    relations as false negatives, an unpaired predicted table all of its own as false positives.
    """
    pairs = match_tables(gt, pred)
    cell, adj = PRCounts(), PRCounts()
    for gi, pi in pairs:
        cell += cell_content_counts(gt[gi][1], pred[pi][1])
        adj += adjacency_counts(gt[gi][1], pred[pi][1])
    paired_g = {g for g, _ in pairs}
    paired_p = {p for _, p in pairs}
    for gi, (_, grid) in enumerate(gt):
        if gi not in paired_g:
            cell += PRCounts(fn=len(grid_cells(grid)))
            adj += PRCounts(fn=len(adjacency_relations(grid)))
    for pi, (_, grid) in enumerate(pred):
        if pi not in paired_p:
            cell += PRCounts(fp=len(grid_cells(grid)))
            adj += PRCounts(fp=len(adjacency_relations(grid)))
    return {"cell": cell, "adjacency": adj}


class _HtmlTableParser(HTMLParser):
    """Collect rows of (text, rowspan, colspan) from table HTML; inline tags (<b>, <sup> ...) are flattened."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[tuple[str, int, int]]] = []
        self._cell: list[str] | None = None
        self._span = (1, 1)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            a = dict(attrs)
            self._cell = []
            self._span = (int(a.get("rowspan") or 1), int(a.get("colspan") or 1))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            if not self.rows:
                self.rows.append([])
            self.rows[-1].append(("".join(self._cell), *self._span))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_table_to_grid(html: str) -> list[list[str | None]]:
    """Table HTML (PubTabNet style, with rowspan/colspan) -> grid; text at the span start, covered cells None."""
    p = _HtmlTableParser()
    p.feed(html)
    occupied: dict[tuple[int, int], str | None] = {}
    for r, row in enumerate(p.rows):
        c = 0
        for text, rs, cs in row:
            while (r, c) in occupied:
                c += 1
            for dr in range(rs):
                for dc in range(cs):
                    occupied[(r + dr, c + dc)] = text if (dr, dc) == (0, 0) else None
            c += cs
    if not occupied:
        return []
    n_rows = max(r for r, _ in occupied) + 1
    n_cols = max(c for _, c in occupied) + 1
    return [[occupied.get((r, c), "") for c in range(n_cols)] for r in range(n_rows)]


# --------------------------------------------------------------------------------------------- page kind


def kind_ratio(expected: Sequence[frozenset[str] | set[str]], predicted: Sequence[str | None]) -> Ratio:
    """Accuracy of kind labels: item i is right when ``predicted[i]`` is in the accepted set ``expected[i]``.

    Missing predictions (predicted shorter than expected) are wrong; extra predictions are ignored.
    """
    correct = sum(1 for i, acc in enumerate(expected) if i < len(predicted) and predicted[i] in acc)
    return Ratio(correct, len(expected))


def kind_accuracy(expected: Sequence[frozenset[str] | set[str]], predicted: Sequence[str | None]) -> float:
    return _value(kind_ratio(expected, predicted))


# --------------------------------------------------------------------------------------------- fields

_END_PUNCT = string.punctuation + "\u2018\u2019\u201c\u201d\u00ab\u00bb\u2013\u2014"
CURRENCY_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "₹": "INR", "rs": "INR", "rm": "MYR", "¥": "JPY"}
_ISO_DURATION = re.compile(r"^P(\d+)([YMWD])$", re.I)
_DURATION_UNITS = {"Y": "year", "M": "month", "W": "week", "D": "day"}


def normalize_text_value(value: Any) -> str:
    """String field comparison form: '_' as space (Kleister), whitespace collapsed, casefolded, end punctuation off."""
    text = normalize_whitespace(str(value).replace("_", " ")).casefold()
    return text.strip(_END_PUNCT + " ")


def parse_date(value: Any, dayfirst: bool = False) -> str | None:
    """A date as ISO 'YYYY-MM-DD'; ISO input is read as ISO whatever ``dayfirst`` says."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = normalize_whitespace(str(value))
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        pass
    try:
        return date_parser.parse(text, dayfirst=dayfirst, fuzzy=True).date().isoformat()
    except (ValueError, OverflowError, TypeError):
        return None


def parse_amount(value: Any) -> Decimal | None:
    """An amount as Decimal: currency text dropped; '1,234.56', '1.234,56', '9,00' and '9.00' all understood."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return Decimal(str(value))
    text = re.sub(r"[^\d,.\-]", "", str(value))
    if not re.search(r"\d", text):
        return None
    if "," in text and "." in text:
        dec = "," if text.rfind(",") > text.rfind(".") else "."
    elif "," in text:
        dec = "," if re.search(r",\d{1,2}$", text) else None
    else:
        # '12.5' and '9.00' are decimals; a lone '.ddd' ('1.234') is read as a thousands separator
        one_dot_not_thousands = text.count(".") == 1 and not re.search(r"\.\d{3}$", text)
        dec = "." if re.search(r"\.\d{1,2}$", text) or one_dot_not_thousands else None
    thousands = {",", "."} - ({dec} if dec else set())
    for t in thousands:
        text = text.replace(t, "")
    if dec == ",":
        text = text.replace(",", ".")
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def normalize_currency(value: Any) -> str:
    text = normalize_whitespace(str(value))
    return CURRENCY_SYMBOLS.get(text.casefold(), CURRENCY_SYMBOLS.get(text, text.upper()))


def normalize_term(value: Any) -> str:
    """Contract term as 'N unit' ('3_years', '3 years', 'P3Y' -> '3 year')."""
    text = normalize_whitespace(str(value))
    m = _ISO_DURATION.match(text)
    if m:
        return f"{int(m.group(1))} {_DURATION_UNITS[m.group(2).upper()]}"
    text = normalize_text_value(text)
    return re.sub(r"\b(year|month|week|day)s\b", r"\1", text)


def normalize_field(value: Any, kind: str = "text", dayfirst: bool = False) -> Any:
    """Comparison form of one value by field kind: text | date | amount | currency | term.

    A value that cannot be parsed as its kind falls back to the text form (so it only matches identical text).
    """
    if value is None:
        return None
    if kind == "date":
        return parse_date(value, dayfirst=dayfirst) or normalize_text_value(value)
    if kind == "amount":
        amount = parse_amount(value)
        return amount.normalize() if amount is not None else normalize_text_value(value)
    if kind == "currency":
        return normalize_currency(value)
    if kind == "term":
        return normalize_term(value)
    return normalize_text_value(value)


def field_counts(gt: dict[str, set[Any]], pred: dict[str, set[Any]]) -> PRCounts:
    """Key-field matching on already-normalised values: (field, value) pairs as sets, single- or multi-valued.

    Only fields present in ``gt`` (the keys asked) are scored; a key with an empty set has no answer, so any
    predicted value for it is a false positive.
    """
    total = PRCounts()
    for name, gt_values in gt.items():
        pv = {v for v in pred.get(name, set()) if v not in (None, "")}
        gv = {v for v in gt_values if v not in (None, "")}
        tp = len(gv & pv)
        total += PRCounts(tp=tp, fp=len(pv) - tp, fn=len(gv) - tp)
    return total


def field_f1(gt: dict[str, set[Any]], pred: dict[str, set[Any]]) -> float:
    """Key-field F1 over (field, normalised value) pairs; 100 when there is nothing to find and nothing found."""
    return _value(field_counts(gt, pred).f1, empty_is_perfect=True)


def text_similarity(a: str, b: str) -> float:
    """Normalised Levenshtein similarity 0..1 of two already-normalised strings."""
    if not a and not b:
        return 1.0
    return Levenshtein.normalized_similarity(a, b)


def kv_pair_counts(
    gt: Sequence[tuple[str, str]], pred: Sequence[tuple[str, str]], min_similarity: float = 1.0
) -> PRCounts:
    """Question->answer pair matching (FUNSD). Keys and values use :func:`normalize_text_value`.

    A pair matches when both key and value similarity reach ``min_similarity`` (1.0 = exact after
    normalisation); pairs are taken one-to-one by descending summed similarity.
    """
    g = [(normalize_text_value(k), normalize_text_value(v)) for k, v in gt]
    p = [(normalize_text_value(k), normalize_text_value(v)) for k, v in pred]
    cand = []
    for gi, (gk, gv) in enumerate(g):
        for pi, (pk, pv) in enumerate(p):
            ks = 1.0 if gk == pk else text_similarity(gk, pk)
            vs = 1.0 if gv == pv else text_similarity(gv, pv)
            if ks >= min_similarity and vs >= min_similarity:
                cand.append((ks + vs, gi, pi))
    cand.sort(key=lambda x: (-x[0], x[1], x[2]))
    used_g: set[int] = set()
    used_p: set[int] = set()
    for _, gi, pi in cand:
        if gi not in used_g and pi not in used_p:
            used_g.add(gi)
            used_p.add(pi)
    tp = len(used_g)
    return PRCounts(tp=tp, fp=len(p) - tp, fn=len(g) - tp)


def kv_pair_f1(gt: Sequence[tuple[str, str]], pred: Sequence[tuple[str, str]], min_similarity: float = 1.0) -> float:
    return _value(kv_pair_counts(gt, pred, min_similarity).f1)
