"""Layout-aware key-value pairing on word boxes (the same for OCR and text-layer pages).

1. Phrases: each visual line is cut into phrases at wide gaps, after a "label:" word (not a time's "18:"), around
   check marks and before an upper-case "LABEL:" run that follows other text.
2. Tables: a row of label-like phrases (with wrapped header lines interleaved under it or stacked above it) with at
   least two rows of cells aligned under it pairs each column header with every cell below it. Columns are read
   centred or from each header's left edge, whichever takes more rows; the table ends at a label, at a gap much
   wider than its row spacing or at a line that fits no column (a number in the margin is skipped). A column of
   printed labels with values right of only some of them, or rows of printed field names only (a blank form),
   are no table. A cell that is a printed field name (a form word, no digits: "Company") is no value of its
   column.
3. Check boxes: a box belongs to the nearer phrase left or right of it; a ticked one ("x", "✓", "☑") is that
   option's answer, and option labels are no label or value of anything else.
4. Labels take one value: "Name:" (wrapped over two lines or not) the phrase to its right, else the one just
   below; an upper-case label the differently written phrase to its right, else the one starting under its left
   edge; a printed label heading a column of labels the phrase right of it; a mixed-case label without a colon
   holding a form word (``LABEL_WORDS``: "Date Prepared") a number right of it, under it or just above it. A value
   runs on over the lines starting under its left edge, tight under it.
5. Pairs whose rule prior times their least confident word is under ``KV_MIN_SCORE`` are not reported. The raw
   confidence is the rule prior (``RULE_PRIOR``: a table column of one or two cells has its own; times
   ``NO_FORM_WORD_PRIOR`` for a label without a form word) times 0.5 + 0.5 x the least word confidence.
Each phrase is the value of at most one label. General geometry, typography and a general form vocabulary only,
nothing per form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from doc_pipeline.core.models import ExtractedField, FieldSource, Page, Table, Word

from .calibration import calibrate
from .layout_text import group_lines, union_bbox

ENGINE = "layout-kv"
GAP = 1.0  # phrase break: a gap wider than this many line heights (word gaps inside a phrase are ~0.3)
MARKS = frozenset("xX✓✔☑☒■✗✘区")  # "区": how RapidOCR's Chinese/English model reads a crossed box ☒
BOXES = frozenset("☐□")
CHECKED = "checked"  # the normalized value of a ticked box's answer
GLYPHS = (MARKS - frozenset("xX")) | BOXES  # box glyphs OCR may glue to the next word ("OTHER□", "□12 MOS.")
# How much taller than the printed words an engine's word boxes are. The vertical thresholds here (a value running on
# to the line under it, wrapped headers and cells, a label's second line) are in line heights of tight word boxes
# (FUNSD's annotated ones). RapidOCR's text detector (DBNet) dilates each detected line ("unclip"): its word boxes are
# a median 1.4x as tall as the same words' annotated boxes (3,994 matched FUNSD words), so consecutive lines overlap
# and a value's next line reads as the same line. Shrinking them by 1.2 scored best (1.4 shrinks some lines apart
# that the rules still read as one: wrapped table cells).
BOX_HEIGHT_PAD = {"rapidocr": 1.2}


@dataclass(eq=False)
class Phrase:
    words: list[Word]
    page_no: int
    row: int = 0

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def bbox(self):
        return union_bbox([w.bbox for w in self.words])

    @property
    def conf(self) -> float:
        return sum(w.conf for w in self.words) / len(self.words)

    @property
    def h(self) -> float:
        return max(1.0, sorted(w.bbox[3] - w.bbox[1] for w in self.words)[len(self.words) // 2])


def _caps_word(t: str) -> bool:
    letters = [c for c in t if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _is_mark(t: str) -> bool:
    t = t.strip("[]()")
    return len(t) == 1 and (t in MARKS or t in BOXES)


def _split_label_run(words: list[Word]) -> list[list[Word]]:
    """Cut before a label that ends in ':' mid-phrase: the label is the run of words written like the word with
    the colon (upper case or not) before it, e.g. "Milw. South | DIVISION NAME:" or "ADMIN. OFFICE | Fax:"."""
    for i in range(1, len(words)):
        if _label_word(words[i].text) and not words[i - 1].text.endswith(":") \
                and any(c.isalpha() for c in words[i].text):  # ("#:" ends the label before it: "FAX #:")
            caps = _caps_word(words[i].text)
            j = i
            while j > 0 and (not any(c.isalpha() for c in words[j - 1].text)
                             or _caps_word(words[j - 1].text) == caps):
                j -= 1
            if 0 < j and words[j].text.startswith("("):
                # the label's note in parentheses may be written otherwise: "PAGES (including Cover Sheet):"
                caps = _caps_word(words[j - 1].text)
                while j > 0 and (not any(c.isalpha() for c in words[j - 1].text)
                                 or _caps_word(words[j - 1].text) == caps):
                    j -= 1
            if 0 < j:
                return [words[:j]] + _split_label_run(words[j:])
    return [words]


def _split_word(w: Word, k: int) -> tuple[Word, Word]:
    """``w`` cut before character ``k``, the box divided in proportion to the characters."""
    x0, y0, x1, y1 = w.bbox
    xm = x0 + (x1 - x0) * k / max(1, len(w.text))
    return (w.model_copy(update={"text": w.text[:k], "bbox": (x0, y0, xm, y1)}),
            w.model_copy(update={"text": w.text[k:], "bbox": (xm, y0, x1, y1)}))


_GLUED_LABEL = re.compile(r"^([A-Za-z][A-Za-z.#/]+:)([(\d$A-Z].*)$")  # "FaX:614-466-5087", "OF:Transition"


def _split_glued_labels(line: list[Word]) -> list[Word]:
    """A label read glued to its value ("FaX:614-466-5087") becomes the label word and the value word."""
    out: list[Word] = []
    for w in line:
        m = _GLUED_LABEL.match(w.text)
        out += list(_split_word(w, len(m.group(1)))) if m else [w]
    return out


# an upper-case label read glued to a value in other case or digits ("DATEOctober", "JURISDICTION345th")
_GLUED_CAPS = re.compile(r"^([A-Z]{3,})(?=[A-Z][a-z]{2}|\d)")


def _split_caps_head(p: list[Word]) -> list[list[Word]]:
    """An upper-case label at the start of a phrase followed, at a word gap, by a value written otherwise (mixed or
    lower case, digits: "DATE August 14, 1990", "FAX NO. (614) 466-5087", "STUDY NAME Induction of ...") is cut
    into label and value. Upper-case text with a short number or code ("SEP 15", "KENT III 100", "JANUARY 31, 1997",
    "ACO Texaco") is no label and value, so: the value holds no upper-case word of two letters or more, starts with
    no parenthesised words (the label's own note), and has lower-case letters or, without them, at least four
    digits; a one-word label takes only a value of two words or more with lower-case letters; the label is three
    letters or more, six words at most, without a comma (a sentence)."""
    k = 0
    while k < len(p) and _caps_word(p[k].text):
        k += 1
    m = _GLUED_CAPS.match(p[k].text) if k < len(p) else None
    if m:  # the label's last word read glued to the value ("DATEOctober 27, 1986", "AMENDMENTRequest")
        a, b = _split_word(p[k], len(m.group(1)))
        head, rest = list(p[:k]) + [a], [b] + list(p[k + 1:])
    elif 0 < k < len(p):
        head, rest = list(p[:k]), list(p[k:])
    else:
        return [p]
    htext, rtext = " ".join(w.text for w in head), " ".join(w.text for w in rest)
    lower = any(c.islower() for c in rtext)
    if sum(c.isalpha() for c in htext) < 3 or len(head) > 6 or "," in htext \
            or any(_caps_word(w.text) for w in rest) or re.match(r"\(\s*[A-Za-z]", rtext) \
            or not (lower or sum(c.isdigit() for c in rtext) >= 4) or (len(head) == 1 and (len(rest) < 2 or not lower)) \
            or rest[0].bbox[0] < head[-1].bbox[2] - 0.5 * (head[-1].bbox[3] - head[-1].bbox[1]):
        return [p]
    return [head, rest]


def _cut_caps_head(p: Phrase) -> list[Phrase]:
    parts = _split_caps_head(p.words)
    return [p] if len(parts) == 1 else [Phrase(ws, p.page_no, p.row) for ws in parts]


def _split_glyphs(line: list[Word]) -> list[Word]:
    """A box glyph read glued to a word ("NO□", "区SHIP") becomes a word of its own (box width: one line height,
    at most half the word)."""
    out: list[Word] = []
    for w in line:
        t = w.text
        x0, y0, x1, y1 = w.bbox
        bw = min(y1 - y0, (x1 - x0) / 2)
        if len(t) > 1 and t[0] in GLYPHS and t[1:].strip():
            out += [w.model_copy(update={"text": t[0], "bbox": (x0, y0, x0 + bw, y1)}),
                    w.model_copy(update={"text": t[1:], "bbox": (x0 + bw, y0, x1, y1)})]
        elif len(t) > 1 and t[-1] in GLYPHS and t[:-1].strip():
            out += [w.model_copy(update={"text": t[:-1], "bbox": (x0, y0, x1 - bw, y1)}),
                    w.model_copy(update={"text": t[-1], "bbox": (x1 - bw, y0, x1, y1)})]
        else:
            out.append(w)
    return out


def phrases(page: Page) -> list[list[Phrase]]:
    """Each visual line split into phrases (see the module doc), lines top to bottom."""
    out = []
    pad = _box_pad(page)
    for ri, line in enumerate(group_lines(page.words)):
        h = sorted(w.bbox[3] - w.bbox[1] for w in line)[len(line) // 2] or 8.0
        if pad != 1.0:  # lines are found and cut into phrases on the boxes as read, stacked lines on tighter boxes
            line = [_tighten(w, pad) for w in line]
        line = _split_glued_labels(_split_glyphs(line))
        parts: list[list[Word]] = []
        cur = [line[0]]
        for prev, w in zip(line, line[1:]):
            if (w.bbox[0] - prev.bbox[2] > GAP * h or _label_word(prev.text) or _is_mark(prev.text)
                    or _is_mark(w.text)):
                parts.append(cur)
                cur = []
            cur.append(w)
        parts.append(cur)
        # a lone dot or comma is a speck on the scan, no phrase ("TO: . K. A. Sparrow")
        row = [Phrase(ws, page.page_no, ri) for p in parts for ws in _split_label_run(p)]
        row = [p for p in row if any(w.text.strip(".,·'`") for w in p.words)] or row
        out.append(row)
    return out


def _label_word(t: str) -> bool:
    """A word ending a label: a colon after letters ("Date:", "NO:"), not after a time's hours ("18:")."""
    return t.endswith(":") and (any(c.isalpha() for c in t) or t == "#:")


_COUNT_LABEL = re.compile(r"^#\s?[A-Za-z]{2,}\.?$")  # "# REPS", "#Open": "number of ...", a label even without colon


def _is_key(p: Phrase) -> bool:
    t = p.text.strip()
    return (_label_word(p.words[-1].text) and 1 <= len(t.rstrip(":").strip()) <= 60) or bool(_COUNT_LABEL.match(t))


def _caps_label(p: Phrase) -> bool:
    letters = [c for c in p.text if c.isalpha()]
    return len(letters) >= 3 and all(c.isupper() for c in letters) and len(p.words) <= 6


def _label_like(p: Phrase) -> bool:
    """Printed column-header text: a few words, mostly letters, no sentence end."""
    t = p.text
    letters = sum(c.isalpha() for c in t)
    digits = sum(c.isdigit() for c in t)
    # a sentence ends in "." or ","; an abbreviation ("NO.", "Dept.") is a short last word before the dot
    end = t.rstrip()
    sentence = end.endswith(",") or (end.endswith(".") and (len(p.words) > 3 or len(p.words[-1].text) > 5))
    return letters >= 2 and digits <= letters / 4 and len(p.words) <= 5 and not _is_key(p) \
        and not sentence or (letters >= 2 and _caps_label(p) and not _is_key(p))


def _xoverlap(a, b) -> float:
    return min(a[2], b[2]) - max(a[0], b[0])


def key_name(text: str) -> str:
    """Normalised key text: colon and surrounding space removed, whitespace collapsed, lower-cased."""
    text = re.sub(r"^[^\w#$(\"'\[]+", "", text.strip())  # a bullet before the label ("• NOTE:")
    return re.sub(r"\s+", " ", text).strip().rstrip(":").strip().lower()


# How often each pairing rule is right before OCR errors (its precision on FUNSD's ground-truth words,
# `scripts/fields_eval.py --oracle-words`, rounded): the rule's prior in the raw confidence, so that a more reliable
# rule scores higher and the "kv" calibration map (calibration.json) can tell the rules apart. The earlier hand-set
# priors ranked a label's right neighbour (70% right) above table cells (87%), which no monotone map can undo.
# Ninth round: a table column with one or two cells ("table_short": 13 of 19 right on ground-truth words, 13 of 34
# on RapidOCR words, 3 of 22 on Tesseract's; mostly a label column of a fax cover sheet read as a table) is told
# apart from a longer one ("table": 195 of 205); one prior for both (0.85) made the Tesseract table pairs the most
# over-confident group of the map (22% right at a calibrated 0.39). See docs/FIELDS.md.
RULE_PRIOR = {"table": 0.95, "table_short": 0.7, "check_box": 0.8, "label_right": 0.7, "label_column": 0.55,
              "caps_label_below": 0.55, "caps_label_right": 0.45, "label_below": 0.2, "plain_right": 0.5,
              "plain_below": 0.6, "plain_above": 0.45}


# Pairs whose rule prior times the lowest OCR confidence among their key and value words is below this are not
# reported (a pair right with probability p adds to the expected pair F1 only when p is above about half the F1).
# One misread word makes a pair wrong, so the least confident word says more than the phrases' mean confidence (the
# raw score below, which the calibration maps): FUNSD pair F1 on RapidOCR words 56.8 with the earlier cut (raw score
# under 0.35), 57.6 with this one (0.28-0.34: 57.5-57.9, a gain on both halves of the forms; Tesseract 12.4 ->
# 12.0). The value under a "Label:" (prior 0.2) is exempt: a form's only value under its label is still read.
# Ground-truth words (confidence 1) lose nothing. See docs/FIELDS.md.
KV_MIN_SCORE = 0.3
# Labels found by their colon, their case or their place in a column of labels are right more often when they hold a
# form word (``LABEL_WORDS``): on FUNSD's RapidOCR words 67 of 101 such "Label:" pairs are right against 19 of 51
# without one, upper-case labels right of their value 12/17 against 3/14. For the cut only, such a pair without a
# form word counts as read with 0.85 of its least confidence: ground-truth words (confidence 1) lose nothing,
# RapidOCR pair F1 57.6 -> 58.3 (factor 0.8-0.9: 58.0-58.3).
FORM_WORD_RULES = frozenset(("label_right", "caps_label_right", "caps_label_below", "label_column"))
NO_FORM_WORD = 0.85
# In the raw score (what the calibration reads) the same cue scales the rule prior by the ground-truth-word
# precision ratio without / with a form word: "Label:" pairs 0.57 / 0.83, upper-case labels right 0.45 / 0.67
# (ninth round; the 0.85 factor on the least confidence left the map over-confident on such pairs).
NO_FORM_WORD_PRIOR = 0.7
# The score cut keeps one prior for all table pairs (0.85, as in the eighth round): the split above only reorders
# the confidences the calibration reads; cutting short columns at 0.7 x least confidence changed no pair F1 but
# dropped Tesseract pairs that were right.
CUT_PRIOR = {"table": 0.85, "table_short": 0.85}


def _pair(key: Phrase | str, value: Phrase, rule: str, page_no: int, key_box=None) -> ExtractedField | None:
    """The pair found by ``rule`` (a ``RULE_PRIOR`` key) as a field, None when its rule prior times its least
    confident word (times ``NO_FORM_WORD`` for the rules in ``FORM_WORD_RULES`` when the key holds no form word) is
    under ``KV_MIN_SCORE``."""
    conf = RULE_PRIOR[rule]
    ktext = _respace(key if isinstance(key, str) else key.text)
    kbox = key_box if isinstance(key, str) else key.bbox
    least = min(w.conf for w in (value.words if isinstance(key, str) else key.words + value.words))
    no_form_word = rule in FORM_WORD_RULES and not _has_label_word(ktext)
    cut = CUT_PRIOR.get(rule, conf)
    if cut * least * (NO_FORM_WORD if no_form_word else 1.0) < KV_MIN_SCORE and rule != "label_below":
        return None
    # raw score (what the "kv" calibration map reads): the rule prior (times NO_FORM_WORD_PRIOR for a key without a
    # form word) with the same least word confidence; the phrases' mean confidence before the eighth round
    # (docs/FIELDS.md: cross-fitted ECE 0.032 -> 0.024)
    raw = conf * (NO_FORM_WORD_PRIOR if no_form_word else 1.0) * (0.5 + 0.5 * least)
    return ExtractedField(
        name=key_name(ktext), value=value.text, normalized=value.text,
        confidence=round(calibrate(raw, "kv"), 4), page_no=page_no,
        bbox=union_bbox([kbox, value.bbox]), source=FieldSource.kv, evidence=f"{ktext} {value.text}",
        engine=ENGINE)


def _lexicon() -> frozenset[str]:
    """An English word list (Tesseract's, casefolded; empty when Tesseract's data is not installed)."""
    from doc_pipeline.core.ocr.lexicon import tesseract_lexicon

    return tesseract_lexicon()


_JOINERS = frozenset(("of", "to", "for", "and", "in", "on"))


def _glued_splits(w: str, n: int, lex: frozenset[str]) -> list[list[str]]:
    if n == 1:
        return [[w]] if len(w) >= 2 and w in lex else []
    return [[w[:i]] + r for i in range(2, len(w) - 1) if w[:i] in lex for r in _glued_splits(w[i:], n - 1, lex)]


def _respace(text: str) -> str:
    """Upper-case label words OCR read glued together ("FAXNUMBER", "DATE OFEVENT:") spaced again: an upper-case
    word of letters (6 or more) that is no dictionary word and reads as two or three dictionary words (each "of",
    "to" ..., a form word of 3 letters or more - ``LABEL_WORDS`` - or any word of 4 letters or more) of which the
    most are form words, one such reading only. Words that split into no form word ("QUANTTTYREQUIRED",
    "TELECOPY") and words in mixed or lower case (names: "Losito") are left as read."""
    out = []
    for tok in text.split(" "):
        core = tok.rstrip(":.")
        low = core.lower()
        if len(low) < 6 or not low.isalpha() or not core.isupper():
            out.append(tok)
            continue
        lex = _lexicon()
        if not lex or low in lex:
            out.append(tok)
            continue
        best, score = None, 0
        for n in (2, 3):
            for parts in _glued_splits(low, n, lex):
                if any(p not in _JOINERS and (len(p) < 3 or (len(p) < 4 and p not in LABEL_WORDS)) for p in parts):
                    continue  # short dictionary entries ("eco", "py") make too many readings
                sc = sum(p in LABEL_WORDS or p in _JOINERS for p in parts)
                if sc > score:
                    best, score = parts, sc
                elif sc == score and best is not None and len(parts) == len(best):
                    best = None if sc else best  # two readings as good: leave the word alone
            if best is not None and score:
                break
        if best is None or not score:
            out.append(tok)
            continue
        i, pieces = 0, []
        for part in best:  # the word's own letters (case kept), cut at the reading's boundaries
            pieces.append(core[i:i + len(part)])
            i += len(part)
        out.append(" ".join(pieces) + tok[len(core):])
    return " ".join(out)


# ------------------------------------------------------------------------------------------ tables


def _column_of(cell: Phrase, cols: list[tuple[float, float]]) -> int | None:
    """Index of the header column a cell sits under (most of its width), None when it spans two."""
    best, best_ov = None, 0.0
    hits = 0
    for i, (x0, x1) in enumerate(cols):
        ov = min(cell.bbox[2], x1) - max(cell.bbox[0], x0)
        if ov > 0:
            hits += 1
            if ov > best_ov:
                best, best_ov = i, ov
    width = max(cell.bbox[2] - cell.bbox[0], 1e-6)
    return best if hits == 1 or best_ov >= 0.75 * width else None


def _split_at_columns(row: list[Phrase], cols: list[tuple[float, float]], h: float) -> list[Phrase]:
    """A phrase running over a column boundary is cut at its widest word gap (> 0.3 line height) that leaves
    every part under one column: neighbouring cells can read closer than the phrase gap ("Rosen (212) 403-1000")."""
    out: list[Phrase] = []
    for p in row:
        out += _cut(p, cols, h) or [p]
    return out


def _cut(p: Phrase, cols: list[tuple[float, float]], h: float) -> list[Phrase] | None:
    if _column_of(p, cols) is not None:
        return [p]
    if len(p.words) > 8:  # a line of running text over the columns, not neighbouring cells
        return None
    ws = p.words
    gaps = sorted(range(1, len(ws)), key=lambda k: ws[k - 1].bbox[2] - ws[k].bbox[0])  # widest first
    gaps = [k for k in gaps if ws[k].bbox[0] - ws[k - 1].bbox[2] > 0.3 * h]
    for whole_right in (True, False):  # one cut into two cells first, then cuts over several columns
        for k in gaps:
            left, right = Phrase(ws[:k], p.page_no, p.row), Phrase(ws[k:], p.page_no, p.row)
            if _column_of(left, cols) is None:
                continue
            if whole_right:
                if _column_of(right, cols) is not None:
                    return [left, right]
            else:
                rest = _cut(right, cols, h)
                if rest:
                    return [left] + rest
    return None


def _stack(parts: list[Phrase], h: float) -> Phrase:
    """One phrase of header parts stacked over one or more lines: words in lines top to bottom (centres within
    half a line height are one line: OCR lines of a wrapped header interleave), each line left to right."""
    words = sorted((w for p in parts for w in p.words), key=lambda w: (w.bbox[1] + w.bbox[3]) / 2)
    lines: list[tuple[float, list[Word]]] = []
    for w in words:
        cy = (w.bbox[1] + w.bbox[3]) / 2
        if lines and cy - lines[-1][0] < 0.5 * h:
            lines[-1][1].append(w)
        else:
            lines.append((cy, [w]))
    ordered = [w for _, ws in lines for w in sorted(ws, key=lambda w: w.bbox[0])]
    return Phrase(ordered, parts[0].page_no, parts[0].row)


def _header_columns(band: list[list[Phrase]], h: float) -> list[list[Phrase]]:
    """Header phrases of one or more tight lines grouped into columns, left to right: phrases of different lines
    that overlap horizontally (within half a line height) head one column ("Number of" over "Stores")."""
    items = [(bi, p) for bi, r in enumerate(band) for p in r]
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (bi, p) in enumerate(items):
        for j in range(i):
            bj, q = items[j]
            if bi != bj and _xoverlap(p.bbox, q.bbox) > -0.5 * h:
                parent[find(i)] = find(j)
    groups: dict[int, list[Phrase]] = {}
    for i, (_, p) in enumerate(items):
        groups.setdefault(find(i), []).append(p)
    return sorted(groups.values(), key=lambda g: min(p.bbox[0] for p in g))


def _header_band(rows: list[list[Phrase]], ri: int, used: set[int]) -> list[int]:
    """The header row ``ri`` and the wrapped header lines tight under it (a line touching the band, all label-like,
    each phrase under a phrase of the band, upper case under an upper-case band): "Name | Number of" over
    "of Account"."""
    band = [ri]
    h = max(p.h for p in rows[ri])
    for rj in range(ri + 1, min(len(rows), ri + 3)):
        row = rows[rj]
        bottom = max(p.bbox[3] for r in band for p in rows[r])
        if rj in used or min(p.bbox[1] for p in row) - bottom > 0.1 * h:
            break
        if not all(_label_like(p) and not any(c.isdigit() for c in p.text) for p in row):
            break
        if all(_caps_text(q.text) for r in band for q in rows[r]) and not all(_caps_text(p.text) for p in row):
            break  # an upper-case header goes on in upper case
        if not all(any(_xoverlap(p.bbox, q.bbox) > -0.5 * h for r in band for q in rows[r]) for p in row):
            break
        band.append(rj)
    return band


def _body(rows: list[list[Phrase]], start: int, cols: list[tuple[float, float]], h: float, last_y: float):
    """Rows under a header row read as cells of the columns ``cols``: (cells per column, phrases joined into a
    wrapped cell, body row indices, gap between header and first row)."""
    cells: dict[int, list[Phrase]] = {i: [] for i in range(len(cols))}
    wrapped: list[Phrase] = []
    body: list[int] = []
    body_rows: list[list[Phrase]] = []
    first_gap = 0.0
    gaps: list[float] = []  # vertical gaps above each row read (the first: under the header)
    row_gaps: list[float] = []  # vertical gaps between the rows taken (not under the header, not wrapped lines)
    for rj in range(start, len(rows)):
        # a number wholly outside the table's span (a stamp in the margin) is no cell and ends nothing
        row = [p for p in rows[rj] if _label_like(p) or (p.bbox[2] > cols[0][0] and p.bbox[0] < cols[-1][1])]
        if not row:
            continue
        top = min(p.bbox[1] for p in row)
        if top - last_y > 5 * h or any(_is_key(p) for p in row):
            break
        # rows run evenly spaced: a gap over three times the widest so far (and over 1.5 lines) ends the table
        if len(gaps) >= 2 and top - last_y > max(1.5 * h, 3 * max(gaps[1:])):
            break
        gaps.append(top - last_y)
        if not body:
            first_gap = top - last_y
        row = _split_at_columns(row, cols, h)
        idx = [_column_of(p, cols) for p in row]
        if any(i is None for i in idx) or len(set(idx)) < len(idx):
            break
        prev = body_rows[-1] if body else None
        # (a line much tighter under the row above than the rows are to each other continues it even when its
        # first column is filled: "Robert V. Costello | Schneider, Reilly," over "Jeffrey D. Woolf | Zabin & ...")
        if prev is not None and top - last_y < 0.5 * h and len(row) < len(prev) and \
                (min(idx) > min(_column_of(q, cols) for q in prev)
                 or (row_gaps and top - last_y < 0.5 * min(row_gaps))) and \
                all(cells[i] and cells[i][-1].row == body[-1] for i in idx):
            # a wrapped cell: the line, empty in the row's first column, continues the cells just above it
            for p, i in zip(row, idx):
                c = cells[i][-1]
                cells[i][-1] = Phrase(c.words + p.words, c.page_no, c.row)
                wrapped.append(p)
            last_y = max(p.bbox[3] for p in row)
            continue
        # a row of header-like text under a data row starts a new table
        if body and len(row) >= 2 and all(_label_like(p) for p in row) and \
                not all(_label_like(c) for cs in cells.values() for c in cs):
            break
        for p, i in zip(row, idx):
            cells[i].append(p)
        if body:
            row_gaps.append(top - last_y)
        body.append(rj)
        body_rows.append(row)
        last_y = max(p.bbox[3] for p in row)
    return cells, wrapped, body, first_gap


def table_kv(rows: list[list[Phrase]], used: set[int]) -> list[tuple[str, tuple, list[Phrase], list[Phrase]]]:
    """(header text, header bbox, phrases used up, cells) for each column of each table found (see module doc).
    Rows of a table found are added to ``used``."""
    out = []
    ri = 0
    while ri < len(rows) - 2:
        head = rows[ri]
        if ri in used or len(head) < 2 or not (all(_label_like(p) for p in head) or all(_is_key(p) for p in head)):
            ri += 1
            continue
        h = max(p.h for p in head)
        if ri and all(any(abs(p.bbox[0] - q.bbox[0]) < h and -0.5 * h <= p.bbox[1] - q.bbox[3] < 0.6 * h
                          and not _is_key(q) and not any(c.isdigit() for c in q.text + p.text)
                          for q in rows[ri - 1]) for p in head):
            ri += 1  # every phrase continues the one just above it (second lines of values): no header row
            continue
        band = _header_band(rows, ri, used) if all(_label_like(p) for p in head) else [ri]
        heads = _header_columns([rows[r] for r in band], h)
        # column spans: header extents widened to the midpoints between neighbouring headers (centred cells), or
        # each header's left edge to the next one's (cells written from the header's left edge on); the reading
        # that takes more rows wins
        ext = [(min(p.bbox[0] for p in g), max(p.bbox[2] for p in g)) for g in heads]
        mid, left = [], []
        for i, (x0, x1) in enumerate(ext):
            lo = (ext[i - 1][1] + x0) / 2 if i else x0 - 3 * h
            hi = (x1 + ext[i + 1][0]) / 2 if i + 1 < len(ext) else x1 + 3 * h
            mid.append((lo, hi))
            left.append((x0 - h if i else lo, ext[i + 1][0] - h if i + 1 < len(ext) else max(hi, x1 + 3 * h)))
        last_y = max(p.bbox[3] for r in band for p in rows[r])
        cols, (cells, wrapped, body, first_gap) = mid, _body(rows, band[-1] + 1, mid, h, last_y)
        if len(heads) >= 2:
            alt = _body(rows, band[-1] + 1, left, h, last_y)
            if len(alt[2]) > len(body):
                cols, (cells, wrapped, body, first_gap) = left, alt
        filled = [i for i, cs in cells.items() if cs]
        if len(heads) == 2 and len(heads[0]) == 1 and _listed_label(heads[0][0], rows, ri) \
                and all(_printed_label(c) for c in cells[0]) and len(cells[1]) < 0.75 * len(body):
            ri += 1  # a column of labels with values right of some of them is a list of label/value lines
            continue
        if all(_printed_label(c) for cs in cells.values() for c in cs) and len(body) >= 2:
            ri += 1  # rows of printed field names only: the labels of a blank form, not a table
            continue
        # one row under a header row is a table only when it reads as values (digits), not as more labels
        one_row_values = len(body) == 1 and len(filled) >= 2 and first_gap < 1.5 * h and all(
            any(ch.isdigit() for ch in c.text) or not _label_like(c) for cs in cells.values() for c in cs)
        if (len(body) < 2 and not one_row_values) or len(filled) < 2:
            ri += 1
            continue
        # stacked header lines just above the header row ("NO. OF" over "STORES")
        above = []
        for rk in range(ri - 1, max(-1, ri - 3), -1):
            if rk in used:
                break
            gap = min(p.bbox[1] for p in (head if not above else above[-1])) - max(p.bbox[3] for p in rows[rk])
            if gap > 0.8 * h or not all(_label_like(p) and _column_of(p, cols) is not None for p in rows[rk]):
                break
            above.append(rows[rk])
        for i, g in enumerate(heads):
            if not cells[i]:
                continue
            parts = [q for r in above for q in r if _column_of(q, cols) == i] + g
            out.append((_stack(parts, h).text, union_bbox([q.bbox for q in parts]), parts + wrapped, cells[i]))
        used.update([*band, *body, *(rows.index(r) for r in above)])
        ri = body[-1] + 1
    return out


# ------------------------------------------------------------------------------------------ pairing


def _box_pad(page: Page) -> float:
    from .calibration import ocr_family

    return BOX_HEIGHT_PAD.get(ocr_family([page]) or "", 1.0)


def _tighten(w: Word, pad: float) -> Word:
    """The word with its box shrunk about its centre line to the printed height (see ``BOX_HEIGHT_PAD``)."""
    x0, y0, x1, y1 = w.bbox
    cy, half = (y0 + y1) / 2, (y1 - y0) / (2 * pad)
    return w.model_copy(update={"bbox": (x0, cy - half, x1, cy + half)})


def kv_pairs(pages: list[Page]) -> list[ExtractedField]:
    fields: list[ExtractedField | None] = []  # None: a pair under the score cut (its phrases stay used)
    for page in pages:
        rows = phrases(page)
        used_rows: set[int] = set()
        taken: set[int] = set()  # ids of phrases already given as a value
        for text, box, heads, cells in table_kv(rows, used_rows):
            for c in cells:
                taken.add(id(c))
                if _field_name(c):
                    fields.append(None)  # a printed field name is no cell value (the table ran on into labels)
                    continue
                fields.append(_pair(text, c, "table" if len(cells) > 2 else "table_short", page.page_no,
                                    key_box=box))
            taken.update(id(q) for q in heads)  # a header is no label or value of anything else
        ticked: dict[int, Phrase] = {}
        for row in rows:
            for owner, mark in _box_labels(row):
                if id(owner) not in taken:
                    # an option's label is no label or value of anything but its box
                    taken.add(id(owner))
                    if mark is not None and id(mark) not in taken:
                        ticked[id(owner)] = mark
                        taken.add(id(mark))
        for ri, row in enumerate(rows):
            for pi, ph in enumerate(row):
                right = row[pi + 1] if pi + 1 < len(row) else None
                if id(ph) in ticked:  # a ticked box: the mark is the answer of its option's label
                    f = _pair(ph, _tick_value(ticked[id(ph)]), "check_box", page.page_no)
                    # typed like the other fields: whatever mark was read ("x", "☑"), the answer is "checked"
                    fields.append(f.model_copy(update={"normalized": CHECKED}) if f else None)
                    continue
                if _is_mark(ph.text) or id(ph) in taken:
                    continue
                cut = _cut_caps_head(ph)
                if len(cut) == 2:  # an upper-case label read in one phrase with its value
                    taken.add(id(ph))
                    fields.append(_pair(cut[0], _run_on(cut[1], cut[0], rows, taken), "caps_label_right",
                                        page.page_no))
                    continue
                if not _is_key(ph):
                    if not _caps_label(ph):
                        # a label of a column of labels (left-aligned lines) with its value right of it
                        if pi == 0 and right is not None and _listed_label(ph, rows, ri) and not _is_key(right) \
                                and not _is_mark(right.text) and id(right) not in taken \
                                and 2 * ph.h < right.bbox[0] - ph.bbox[2] < 30 * ph.h \
                                and not (_printed_label(right) and _aligned_labels(right, rows, ri) >= 1):
                            taken.add(id(right))
                            fields.append(_pair(ph, _run_on(right, ph, rows, taken), "label_column", page.page_no))
                        else:
                            value, rule = _plain_value(ph, right, rows, ri, taken)
                            if value is not None:
                                taken.add(id(value))
                                fields.append(_pair(ph, _run_on(value, ph, rows, taken), rule, page.page_no))
                        continue
                    if _no_label_text(ph):
                        continue
                    # printed upper-case label with a differently written (typed/handwritten) value to its right
                    if right is not None and not _caps_label(right) and not _is_key(right) \
                            and not _is_mark(right.text) and id(right) not in taken and right.bbox[0] - ph.bbox[2] < 20 * ph.h:
                        taken.add(id(right))
                        fields.append(_pair(ph, _run_on(right, ph, rows, taken), "caps_label_right", page.page_no))
                    elif right is None or _caps_label(right):
                        # ... else such a value starting just under it (the label alone at the end of its line)
                        below = _below(ph, rows, ri, taken)
                        if below is not None and _caps_value_below(ph, below):
                            taken.add(id(below))
                            fields.append(_pair(ph, _run_on(below, ph, rows, taken), "caps_label_below", page.page_no))
                    continue
                value, rule = _value_for(ph, right, rows, ri, taken)
                if value is not None:
                    taken.add(id(value))
                    key = _key_with_head(ph, rows, ri, taken)
                    fields.append(_pair(key, _run_on(value, ph, rows, taken), rule, page.page_no))
    return [f for f in fields if f is not None]


# Words that name a field on printed forms (general English form vocabulary, written down without looking at any
# corpus form): a mixed-case phrase without a colon ("Date Prepared", "Sender Voice Number") is read as a label only
# when it holds one of them, so that names and running text ("Madelyn J. Chaber" over an address) are not.
LABEL_WORDS = frozenset("""
date dated time day name names number no # page pages fax phone tel telephone facsimile voice telex email e-mail
to from subject re address street city state zip country company firm department dept division office title
position signature signed sender recipient recipients attention attn cc amount total cost costs price fee fees rate
quantity qty code type description comments comment remarks notes note reference ref file account client customer
project approved received prepared requested submitted checked by location contact region brand product item unit
budget period start end due issued age sex id order invoice manager director estimate value size weight status
purpose reason job test sample study report distribution via copies source method objective result results
""".split())


def _plain_label(p: Phrase) -> bool:
    """A printed label without a colon in mixed case: a printed field name (capital start, no digits) of at most six
    words holding a form word (``LABEL_WORDS``)."""
    return _printed_label(p) and not _caps_label(p) and len(p.words) <= 6 and _has_label_word(p.text)


def _has_label_word(text: str) -> bool:
    return any(w.strip("():#.,").lower() in LABEL_WORDS for w in text.split())


def _field_name(p: Phrase) -> bool:
    """A printed field name: six words at most, no digits, holding a form word ("Company", "Sender", "Coupon
    Value", "Number of Pages (this page included)"). As a table cell it is right 1 of 9 times on FUNSD's
    ground-truth words, 0 of 7 on RapidOCR's, 0 of 7 on Tesseract's (ninth round): the table ran on into the
    labels of the next block."""
    return len(p.words) <= 6 and not any(c.isdigit() for c in p.text) and _has_label_word(p.text)


def _plain_value(key: Phrase, right: Phrase | None, rows: list[list[Phrase]], ri: int, taken: set[int]):
    """The value of a mixed-case label without a colon (``_plain_label``): a free phrase with digits (a date, number,
    amount: a filled-in entry, not more printed text) right of it on its line, else starting under it (between its
    left edge, less a line height, and its right edge) on one of the next two lines, tight under it (gap < 1.5 line
    heights): a row of labels over a row of values ("Date Prepared | Page" over "8-17-88 | 1 of 1"), else, with
    nothing right of the label, the one phrase with digits just above it (a caption printed under the line its value
    was written on). The value is no label itself. A printed phrase without a form word takes only a "$" amount
    right of it (an item and its price)."""
    if not _plain_label(key):
        # a printed item name with an amount right of it ("Steel tips  $ 1,045.00")
        if right is not None and _printed_label(key) and not _caps_label(key) and len(key.words) <= 6 \
                and not _no_label_text(key) and _AMOUNT.match(right.text.strip()) and id(right) not in taken \
                and right.bbox[0] - key.bbox[2] < 15 * key.h:
            return right, "plain_right"
        return None, ""

    def value(q: Phrase) -> bool:
        return id(q) not in taken and not _is_mark(q.text) and not _is_key(q) and not _plain_label(q) \
            and not _caps_label(q) and any(c.isdigit() for c in q.text)

    kh = key.h
    if right is not None and right.bbox[0] - key.bbox[2] < 15 * kh and value(right):
        return right, "plain_right"
    for nrow in rows[ri + 1: ri + 3]:
        cands = [q for q in nrow if key.bbox[0] - kh < q.bbox[0] < key.bbox[2] and q.bbox[1] - key.bbox[3] < 1.5 * kh]
        if cands:
            return (cands[0], "plain_below") if value(cands[0]) else (None, "")
    if right is None and ri:
        # a caption printed under the line its value was written on ("475,592" over "Case No.")
        kw = key.bbox[2] - key.bbox[0]
        cands = [q for q in rows[ri - 1] if _xoverlap(q.bbox, key.bbox) > 0.5 * min(q.bbox[2] - q.bbox[0], kw)
                 and key.bbox[1] - q.bbox[3] < 1.5 * kh]
        if len(cands) == 1 and value(cands[0]):
            return cands[0], "plain_above"
    return None, ""


_AMOUNT = re.compile(r"^\$\s?\d[\d,. ]*$")  # "$ 30.00", "$1,045.00"
_NOTE = re.compile(r"^\(\s*[A-Za-z][^()]*\)$")  # a note in parentheses: "(prior to September 1)", "(CHECK ONE)"
_TIME = re.compile(r"\d{1,2}\s?:\s?\d{2}")
_OPEN_END = frozenset("at is are was the and or a an".split())  # a label does not end in these: a sentence does


def _no_label_text(p: Phrase) -> bool:
    """Printed text that is no label though written like one: a fax header line (a time, "FEB 25 '98 18:23 FR"), a
    number or code of three digits or more ("DPW 30-59"), a sentence broken off at a gap ("OUR FAX NUMBER IS")."""
    t = p.text
    return bool(_TIME.search(t)) or sum(c.isdigit() for c in t) >= 3 \
        or p.words[-1].text.strip(".,").lower() in _OPEN_END


def _tick_value(mark: Phrase) -> Phrase:
    """A ticked box's answer: a letter "x" as written, any box glyph as "☑" (one value for "checked", however the
    OCR drew it: "✓", "☒", "区")."""
    t = mark.text.strip("[]()")
    if t in "xX":
        return mark
    return Phrase([mark.words[0].model_copy(update={"text": "☑"})], mark.page_no, mark.row)


def _key_with_head(key: Phrase, rows: list[list[Phrase]], ri: int, taken: set[int]) -> Phrase:
    """A "label:" wrapped over two lines ("PLAINTIFF'S" over "COUNSEL:"): the line above, when a free label-like
    phrase starts at the label's left edge tight above it (gap < 0.6 line heights), ends about where the label ends,
    is written in the same case and is alone there (nothing right of it over the label), is the label's first line."""
    if ri == 0:
        return key
    kh = key.h
    above = rows[ri - 1]
    for i, q in enumerate(above):
        if abs(q.bbox[0] - key.bbox[0]) >= kh or not 0 <= key.bbox[1] - q.bbox[3] < 0.6 * kh \
                or q.bbox[2] > key.bbox[2] + 2 * kh:  # a title line running on past the label is no part of it
            continue
        nxt = above[i + 1] if i + 1 < len(above) else None
        if id(q) in taken or _is_key(q) or _is_mark(q.text) or not _label_like(q) \
                or _caps_text(q.text) != _caps_text(key.text) \
                or (nxt is not None and nxt.bbox[0] < key.bbox[2] + 2 * kh):
            return key
        taken.add(id(q))
        return Phrase(q.words + key.words, key.page_no, key.row)
    return key


def _printed_label(p: Phrase) -> bool:
    """Label-like, no digits, starting with a capital letter (a printed field name, not a filled-in value)."""
    first = next((c for c in p.text if c.isalpha()), "")
    return _label_like(p) and first.isupper() and not any(c.isdigit() for c in p.text)


def _listed_label(p: Phrase, rows: list[list[Phrase]], ri: int) -> bool:
    """``p`` (first on its line) heads a column of labels: two more lines within six lines of it start at its left
    edge with a printed label."""
    if not _printed_label(p):
        return False
    return _aligned_labels(p, rows, ri, first=True) >= 2


def _aligned_labels(p: Phrase, rows: list[list[Phrase]], ri: int, first: bool = False) -> int:
    """How many other lines within six lines of ``p`` have a printed label (their first phrase: ``first``)
    starting at its left edge."""
    near = 0
    for r in rows[max(0, ri - 6): ri + 7]:
        for q in r[:1] if first else r:
            if q is not p and abs(q.bbox[0] - p.bbox[0]) < 0.7 * p.h and _printed_label(q):
                near += 1
                break
    return near


def _caps_text(t: str) -> bool:
    letters = [c for c in t if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def _caps_value_below(label: Phrase, value: Phrase) -> bool:
    """An upper-case label's value on the line under it: written differently (not upper case), starting at the
    label's left edge, not smaller print than the label (a title over text is larger), no digits in the label."""
    return not _caps_text(value.text) and abs(value.bbox[0] - label.bbox[0]) < 1.5 * label.h \
        and label.h <= 1.25 * value.h and not any(c.isdigit() for c in label.text)


def _box_labels(row: list[Phrase]) -> list[tuple[Phrase, Phrase | None]]:
    """(option label, its mark when ticked, else None) for each check box of a line: a box belongs to the nearer
    of the phrases just left and right of it (within 6 line heights): "YES ☑ NO ☐" and "☑ BILL AS SHIPPED"."""
    out = []
    for i, m in enumerate(row):
        if not _is_mark(m.text):
            continue
        left = row[i - 1] if i and not _is_mark(row[i - 1].text) else None
        right = row[i + 1] if i + 1 < len(row) and not _is_mark(row[i + 1].text) else None
        gl = m.bbox[0] - left.bbox[2] if left is not None else float("inf")
        gr = right.bbox[0] - m.bbox[2] if right is not None else float("inf")
        owner = left if gl <= gr else right
        if owner is None or min(gl, gr) > 6 * owner.h:
            continue
        out.append((owner, m if m.text.strip("[]()") in MARKS else None))
    return out


def _under_key(q: Phrase, above: list[Phrase], kh: float) -> bool:
    """True when ``q`` sits right under a label of the line above (it is that label's value)."""
    return any(_is_key(k) and _xoverlap(q.bbox, k.bbox) > 0.5 * min(k.bbox[2] - k.bbox[0], q.bbox[2] - q.bbox[0])
               and q.bbox[1] - k.bbox[3] < 2.5 * kh for k in above)


def _value_for(key: Phrase, right: Phrase | None, rows: list[list[Phrase]], ri: int, taken: set[int]):
    kx0, ky0, kx1, ky1 = key.bbox
    kh = key.h
    row = rows[ri]
    if right is not None and _NOTE.match(right.text.strip()) and id(right) not in taken and right in row:
        # the label's note right of it ("Fee: (prior to September 1)  $135.00"): the value is the phrase after it
        i = row.index(right)
        if i + 1 < len(row) and not _NOTE.match(row[i + 1].text.strip()):
            taken.add(id(right))
            right = row[i + 1]
    # right of the key, same line, not itself a key
    # (a phrase already given to a label, e.g. the one right above it, is not taken twice)
    if right is not None and not _is_key(right) and id(right) not in taken and right.bbox[0] - kx1 < 25 * kh \
            and right.text.strip("[]()") not in BOXES \
            and not _under_key(right, rows[ri - 1] if ri else [], kh):
        return right, "label_right"
    q = _below(key, rows, ri, taken)
    if q is None or _not_a_value_below(q) \
            or (_COUNT_LABEL.match(key.text.strip()) and not any(c.isdigit() for c in q.text)):
        return None, ""  # (a count's value under "# CASES" is a number)
    return q, "label_below"


def _not_a_value_below(q: Phrase) -> bool:
    """A phrase under a "Label:" that is no filled-in value: a printed upper-case label (letters only, with a form
    word: "CUSTOMER SHIPPING NUMBER", "DATE"; "JOHN SMITH" is a value) or a parenthesised note ("(CHECK ONE)",
    "(Name)"; a phone number "(614) 466-5087" is a value)."""
    t = q.text.strip()
    return (_caps_label(q) and not any(c.isdigit() for c in t) and _has_label_word(q.text)) \
        or bool(re.match(r"\(\s*[A-Za-z]", t))


def _below(key: Phrase, rows: list[list[Phrase]], ri: int, taken: set[int]) -> Phrase | None:
    """The phrase starting under ``key`` on the first line below it that has one (within 2.5 line heights), when
    it is free and not itself a label or a check mark."""
    kx0, _, kx1, ky1 = key.bbox
    kh = key.h
    for nrow in rows[ri + 1: ri + 3]:
        cands = [q for q in nrow if q.bbox[0] < kx1 + 2 * kh and q.bbox[2] > kx0 - kh and q.bbox[1] - ky1 < 2.5 * kh]
        if cands:
            q = max(cands, key=lambda q: _xoverlap(q.bbox, key.bbox))
            i = nrow.index(q)
            if i and _is_key(nrow[i - 1]) and abs(q.bbox[0] - kx0) >= 2 * kh:
                break  # the value right of a label on its own line is that label's, unless it starts under this one
            if not _is_key(q) and id(q) not in taken and not _is_mark(q.text):
                return q
            break
    return None


def _run_on(value: Phrase, key: Phrase, rows: list[list[Phrase]], taken: set[int]) -> Phrase:
    """``value`` with the lines it runs on to: each next line's phrase that starts under the value's left edge
    (within one line height), tight under it (gap < 0.9 line heights), with nothing left of it back to the label,
    and that is no label, check mark or taken phrase. Phrases joined are added to ``taken``."""
    h = value.h
    words = list(value.words)
    bottom = value.bbox[3]
    x0 = value.bbox[0]
    left = min(key.bbox[0], x0) - h
    ri = value.row
    while ri + 1 < len(rows):
        nrow = rows[ri + 1]
        cands = [q for q in nrow if abs(q.bbox[0] - x0) < h]
        if len(cands) != 1:
            break
        q = cands[0]
        if q.bbox[1] - bottom > 0.9 * h or q.bbox[1] - bottom < -0.3 * h or id(q) in taken or _is_key(q) \
                or _is_mark(q.text) or (_caps_label(q) and not _caps_label(value)) \
                or any(left < o.bbox[2] <= q.bbox[0] + 0.5 * h for o in nrow if o is not q):
            break
        words += q.words
        taken.add(id(q))
        bottom = q.bbox[3]
        ri += 1
    return value if len(words) == len(value.words) else Phrase(words, value.page_no, value.row)


def table_pairs(tables: list[Table]) -> list[ExtractedField]:
    """Header -> cell pairs from simple tables: a header row with one data row, or two-column key|value tables."""
    out: list[ExtractedField] = []
    for t in tables:
        rows = [r for r in t.rows if any(c.strip() for c in r)]
        if len(rows) == 2 and len(rows[0]) == len(rows[1]):
            pairs = list(zip(rows[0], rows[1]))
        elif rows and all(len(r) == 2 for r in rows):
            pairs = [(r[0], r[1]) for r in rows]
        else:
            continue
        for k, v in pairs:
            if k.strip() and v.strip():
                out.append(ExtractedField(name=key_name(k), value=v.strip(), normalized=v.strip(), confidence=0.6,
                                          page_no=t.page_no, bbox=t.bbox, source=FieldSource.kv,
                                          evidence=f"{k} {v}", engine="table-kv"))
    return out
