"""A learned candidate ranker: which of a field's candidates is the right one, learned from review corrections.

The extractors (rules / kv / NER) propose candidates; ``expand_candidates`` adds every other plausible value of
the field's kind (every amount for a money field, header lines and line blocks for names and addresses, every
date). Each candidate gets layout and text features (``candidate_features``: position on the page, line index
from top and bottom, label keyword on the line or the line above, box height relative to the document's median,
value pattern, largest amount, upper-case ratio, source, the rules' own score, ...). A reviewer's corrected value
marks which candidates are right (same normalised value) and the rest are negatives (``ranker_rows``).

The model per ``(doc_type, field)`` is a conditional logit (softmax over a document's candidates) trained with
numpy. Its weights are pulled (L2) towards a prior that reproduces the rules' choice (weight on the rules' score
only), so with a handful of corrections it behaves like the rules and moves away from them as evidence grows.
Everything here is pure (no I/O); the ranker is persisted as JSON inside the field model zip.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from typing import Any

from doc_pipeline.core.models import FieldSource

from .candidates import Candidate
from .layout_text import DocText
from .normalize import find_amounts, find_dates, money

RANKER_VERSION = 1
MONEY_FIELDS = frozenset({"total", "gross_pay", "net_pay", "opening_balance", "closing_balance"})
DATE_FIELDS = frozenset({"date", "effective_date"})
NAME_FIELDS = frozenset({"company", "issuer", "employer"})
ADDRESS_FIELDS = frozenset({"address"})

# keywords that, near a value, suggest which field it is (general words, several languages)
FIELD_KEYWORDS = {
    "money": re.compile(r"(?i)\b(?:total|amount|amt|due|payable|nett?|jumlah|balance|grand|sum|totaal|gesamt|"
                        r"montant|rounded|bayar)\b"),
    "money_veto": re.compile(r"(?i)\b(?:sub\s*-?\s*total|subtotal|tax|gst|sst|vat|change|cash|tender\w*|rounding|"
                             r"qty|quantity|discount|disc|round|paid|visa|master|card|credit|tendered|items?|"
                             r"service|svc|excl\w*)\b"),
    "date": re.compile(r"(?i)\b(?:date|dated|tarikh|datum|issued?|invoice)\b"),
    "date_veto": re.compile(r"(?i)\b(?:due|expir\w*|valid|print\w*|birth|order|delivery|period)\b"),
    "name": re.compile(r"(?i)\b(?:sdn\.?|bhd\.?|ltd|llc|inc|gmbh|co\.|corp\w*|enterprise|trading|restaurant|"
                       r"store|mart|company|s/b|plc|limited|berhad|b\.?v\.?)"),
    "address": re.compile(r"(?i)\b(?:jalan|jln|no\.?|lot|taman|street|st\.|road|rd\.?|avenue|ave|floor|blok|"
                          r"block|kawasan|bandar|lorong|persiaran|selangor|johor|kuala|lumpur|darul|ehsan|"
                          r"malaysia|city|suite)\b"),
    "contact": re.compile(r"(?i)\b(?:tel|fax|phone|ph|hp|gst|sst|reg|e-?mail|www|http|tax|invoice|receipt)\b|@"),
}
FEATURES = [
    "base", "label", "valid", "agree", "src_rule", "src_kv", "src_ner", "expanded",
    "rel_y", "rel_x", "first_page", "line_top", "line_bottom", "is_first_line", "in_top5", "in_bottom_third",
    "height_rel", "upper_ratio", "alpha_ratio", "digit_ratio", "n_words", "n_lines",
    "kw_same", "kw_above", "veto_same", "contact_same",
    "is_amount", "has_decimals", "has_currency", "amount_rank", "is_largest", "is_last_amount", "rightmost",
    "amount_repeat", "is_date", "date_rank", "date_label",
    "name_suffix", "addr_kw", "has_postcode", "starts_line", "bold_text_line",
    "prev_is_name", "next_is_contact", "first_addr_start", "last_has_postcode", "first_has_digit", "ends_line",
    "tendered_same", "change_below", "after_summary", "derived", "memory_sim",
]
MEMORY_MIN_SIMILARITY = 85.0  # rapidfuzz ratio (0..100) for a remembered value to be proposed
MEMORY_MAX_VALUES = 2000  # per (doc_type, field)
PRIOR_BASE_WEIGHT = 6.0  # prior weight on the rules' score: with no evidence the ranker agrees with the rules


def kind_of(name: str) -> str:
    if name in MONEY_FIELDS:
        return "money"
    if name in DATE_FIELDS or name.endswith("_date"):
        return "date"
    if name in NAME_FIELDS:
        return "name"
    if name in ADDRESS_FIELDS:
        return "address"
    return "text"


def compare_form(name: str, value: Any) -> Any:
    """A value in the form used to decide whether a candidate equals a reviewer's value."""
    kind = kind_of(name)
    if value is None:
        return None
    if kind == "money":
        hits = find_amounts(str(value))
        if hits:
            return Decimal(str(hits[0][2]["amount"])).normalize()
        try:
            return Decimal(re.sub(r"[^\d.\-]", "", str(value).split(" ")[0])).normalize()
        except (InvalidOperation, ValueError):
            pass
    if kind == "date":
        s = str(value)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
            return s
        hits = find_dates(s)
        if hits:
            return hits[0][2]
    return re.sub(r"\s+", " ", str(value)).casefold().strip(" .,;:-")


# ---------------------------------------------------------------- candidate expansion

def expand_candidates(doc: DocText, names: list[str], existing: list[Candidate]) -> list[Candidate]:
    """Every other plausible value for each field in ``names`` (marked ``extra["expanded"]``): the ranker
    chooses among them; without a ranker they are not used."""
    out: list[Candidate] = []
    have = {(c.name, c.start, c.end) for c in existing}
    for name in names:
        kind = kind_of(name)
        new: list[Candidate] = []
        if kind == "money":
            from .normalize import detect_currency

            cur = detect_currency(doc.text)
            for s, e, val in find_amounts(doc.text):
                if not (val["decimals"] or val["currency"]):
                    continue
                c = val["currency"] or cur
                new.append(Candidate(name, doc.text[s:e].strip(), money(val["amount"], c), s, e, prior=0.2,
                                     extra={"amount": val["amount"], "currency": c}))
        elif kind == "date":
            for s, e, iso in find_dates(doc.text):
                new.append(Candidate(name, doc.text[s:e], iso, s, e, prior=0.2))
        elif kind in ("name", "address"):
            lines = [ln for ln in doc.lines[:14] if ln.page_no == (doc.lines[0].page_no if doc.lines else 1)]
            max_len = 2 if kind == "name" else 5
            for i in range(len(lines)):
                for n in range(1, max_len + 1):
                    block = lines[i:i + n]
                    if len(block) < n:
                        break
                    text = " ".join(ln.text.strip() for ln in block)
                    if sum(ch.isalpha() for ch in text) < 3:
                        continue
                    new.append(Candidate(name, text, text, block[0].offsets[0][0], block[-1].offsets[-1][1],
                                         prior=0.2, extra={"n_lines": n}))
        for c in new:
            if (c.name, c.start, c.end) in have:
                continue
            have.add((c.name, c.start, c.end))
            c.extra["expanded"] = True
            out.append(c)
    return out


def _blocks(doc: DocText, max_lines: int, first: int = 24):
    """(text, start, end) of runs of 1..max_lines consecutive lines among the first lines of the first page."""
    if not doc.lines:
        return
    page = doc.lines[0].page_no
    lines = [ln for ln in doc.lines[:first] if ln.page_no == page]
    for i in range(len(lines)):
        for n in range(1, max_lines + 1):
            block = lines[i:i + n]
            if len(block) < n:
                break
            yield " ".join(ln.text.strip() for ln in block), block[0].offsets[0][0], block[-1].offsets[-1][1]


def memory_candidates(doc: DocText, names: list[str], memory_of) -> list[Candidate]:
    """Values reviewers entered on earlier documents (a vendor's exact name and address), proposed where the
    document shows nearly the same text (OCR misreads included): ``memory_of(name)`` lists remembered values."""
    from rapidfuzz import fuzz

    out: list[Candidate] = []
    for name in names:
        values = memory_of(name)
        if not values:
            continue
        blocks = list(_blocks(doc, 2 if kind_of(name) == "name" else 5))
        forms = [(re.sub(r"\s+", " ", t).casefold(), s, e) for t, s, e in blocks]
        for v in values:
            vf = re.sub(r"\s+", " ", v).casefold()
            best = max(((fuzz.ratio(vf, t), s, e) for t, s, e in forms if abs(len(t) - len(vf)) <= 0.3 * len(vf)),
                       default=None)
            if best is None or best[0] < MEMORY_MIN_SIMILARITY:
                continue
            sim, s, e = best
            out.append(Candidate(name, v, v, s, e, source=FieldSource.ner, engine="correction-memory", label=True,
                                 prior=min(1.0, 0.5 + 0.5 * sim / 100), extra={"memory": sim / 100}))
    return out


# ---------------------------------------------------------------- features

class _DocStats:
    """Per-document numbers the features are relative to (computed once per document)."""

    def __init__(self, doc: DocText):
        self.doc = doc
        hs = sorted(w.bbox[3] - w.bbox[1] for ln in doc.lines for w in ln.words)
        self.median_h = hs[len(hs) // 2] if hs else 10.0
        self.page_size = {p.page_no: (p.width or 1.0, p.height or 1.0) for p in doc.pages}
        self.n_lines_page: dict[int, int] = defaultdict(int)
        self.line_idx_page: list[int] = []
        for ln in doc.lines:
            self.line_idx_page.append(self.n_lines_page[ln.page_no])
            self.n_lines_page[ln.page_no] += 1
        amts = [(s, val["amount"]) for s, _, val in find_amounts(doc.text) if val["decimals"] or val["currency"]]
        self.amounts = sorted({a for _, a in amts}, reverse=True)
        self.amount_count: dict[float, int] = defaultdict(int)
        for _, a in amts:
            self.amount_count[a] += 1
        self.last_amount_start = max((s for s, _ in amts), default=-1)
        self.date_starts = [s for s, _, _ in find_dates(doc.text)]


def _line_text(doc: DocText, i: int) -> str:
    return doc.lines[i].text if 0 <= i < len(doc.lines) else ""


def candidate_features(c: Candidate, st: _DocStats, base: float) -> list[float]:
    doc = st.doc
    kind = kind_of(c.name)
    f: dict[str, float] = dict.fromkeys(FEATURES, 0.0)
    f["base"] = base
    f["label"] = float(c.label)
    f["valid"] = float(c.valid)
    f["agree"] = min(3, c.agree - 1) / 3
    f["src_rule"] = float(c.source == FieldSource.rule and not c.extra.get("expanded"))
    f["src_kv"] = float(c.source == FieldSource.kv)
    f["src_ner"] = float(c.source == FieldSource.ner)
    f["expanded"] = float(bool(c.extra.get("expanded")))
    val = c.value or ""
    letters = [ch for ch in val if ch.isalpha()]
    f["upper_ratio"] = sum(ch.isupper() for ch in letters) / len(letters) if letters else 0.0
    f["alpha_ratio"] = len(letters) / max(1, len(val))
    f["digit_ratio"] = sum(ch.isdigit() for ch in val) / max(1, len(val))
    f["n_words"] = min(12, len(val.split())) / 12
    kw = FIELD_KEYWORDS.get(kind if kind in ("money", "date", "name", "address") else "money")
    if c.start >= 0 and doc.lines:
        li = doc.line_at(c.start)
        le = doc.line_at(max(c.start, c.end - 1))
        ln = doc.lines[li]
        pw, ph = st.page_size.get(ln.page_no, (1.0, 1.0))
        _, ws = doc.words_in_span(c.start, c.end)
        ws = ws or ln.words
        y = (min(w.bbox[1] for w in ws) + max(w.bbox[3] for w in ws)) / 2
        f["rel_y"] = min(1.0, max(0.0, y / ph))
        f["rel_x"] = min(1.0, max(0.0, min(w.bbox[0] for w in ws) / pw))
        f["rightmost"] = float(max(w.bbox[2] for w in ws) >= max(w.bbox[2] for w in ln.words) - 1)
        f["first_page"] = float(ln.page_no == doc.lines[0].page_no)
        idx, n = st.line_idx_page[li], st.n_lines_page[ln.page_no]
        f["line_top"] = min(20, idx) / 20
        f["line_bottom"] = min(20, n - 1 - idx) / 20
        f["is_first_line"] = float(idx == 0)
        f["in_top5"] = float(idx < 5)
        f["in_bottom_third"] = float(idx >= 2 * n / 3)
        hs = sorted(w.bbox[3] - w.bbox[1] for w in ws)
        f["height_rel"] = min(3.0, hs[len(hs) // 2] / max(0.1, st.median_h)) / 3
        f["n_lines"] = min(5, le - li + 1) / 5
        same = doc.text[ln.start:c.start]
        f["kw_same"] = float(bool(kw and kw.search(same)))
        f["kw_above"] = float(bool(kw and kw.search(_line_text(doc, li - 1))))
        if kind in ("money", "date"):
            veto = FIELD_KEYWORDS[f"{kind}_veto"]
            f["veto_same"] = float(bool(veto.search(same)))
        f["contact_same"] = float(bool(FIELD_KEYWORDS["contact"].search(
            " ".join(_line_text(doc, i) for i in range(li, le + 1)))))
        f["starts_line"] = float(c.start <= ln.start + 1)
        lend = doc.lines[le]
        f["ends_line"] = float(c.end >= lend.offsets[-1][1] - 1)
        f["prev_is_name"] = float(bool(li > 0 and (FIELD_KEYWORDS["name"].search(_line_text(doc, li - 1))
                                                   or re.search(r"\d{5,}|\(\s*\d{4,}", _line_text(doc, li - 1)))))
        f["next_is_contact"] = float(bool(FIELD_KEYWORDS["contact"].search(_line_text(doc, le + 1))))
        first_line = doc.text[c.start:ln.offsets[-1][1]]
        f["first_addr_start"] = float(bool(re.match(r"(?i)\s*(?:no\b|lot\b|level\b|\d|jalan|jln|blk|block)",
                                                    first_line)))
        f["last_has_postcode"] = float(bool(re.search(r"\b\d{5}\b", doc.text[lend.start:c.end])))
        f["first_has_digit"] = float(bool(re.search(r"\d", first_line)))
        if kind == "money":
            f["tendered_same"] = float(bool(re.search(r"(?i)\b(?:cash|tender\w*|paid|pay|change|visa|card|"
                                                      r"accepted|received|rounding)\b", same)))
            f["change_below"] = float(bool(re.search(r"(?i)\bchange\b", _line_text(doc, le + 1))))
            f["after_summary"] = float(any(re.search(r"(?i)(?:gst|tax|sst)\s*summary|@\s*\d+\s*%",
                                                     _line_text(doc, i)) for i in range(max(0, li - 8), li + 1)))
        f["bold_text_line"] = float(f["height_rel"] * 3 > 1.15 and f["alpha_ratio"] > 0.5)  # taller than body text
    f["derived"] = float(bool(c.extra.get("derived")))
    f["memory_sim"] = float(c.extra.get("memory", 0.0))
    if kind == "money":
        amt = c.extra.get("amount")
        if amt is None:
            hits = find_amounts(val)
            amt = hits[0][2]["amount"] if hits else None
        if amt is not None:
            f["is_amount"] = 1.0
            f["has_decimals"] = float(bool(re.search(r"[.,]\d{2}\b", val)))
            f["has_currency"] = float(bool(re.search(r"(?i)rm|\$|€|£|usd|eur|myr", val)))
            rank = st.amounts.index(amt) if amt in st.amounts else len(st.amounts)
            f["amount_rank"] = min(10, rank) / 10
            f["is_largest"] = float(rank == 0)
            f["is_last_amount"] = float(c.start == st.last_amount_start)
            f["amount_repeat"] = min(3, st.amount_count.get(amt, 1) - 1) / 3
    elif kind == "date":
        f["is_date"] = float(bool(find_dates(val)))
        starts = st.date_starts
        f["date_rank"] = min(5, starts.index(c.start) if c.start in starts else 5) / 5
        f["date_label"] = f["kw_same"]
    else:
        f["name_suffix"] = float(bool(FIELD_KEYWORDS["name"].search(val)))
        f["addr_kw"] = min(3, len(FIELD_KEYWORDS["address"].findall(val))) / 3
        f["has_postcode"] = float(bool(re.search(r"\b\d{5}\b", val)))
    return [f[k] for k in FEATURES]


def group_agreement(cands: list[Candidate]) -> None:
    """Set ``agree`` (number of methods proposing the same normalised value) as ``select`` does."""
    groups: dict[str, list[Candidate]] = defaultdict(list)
    for c in cands:
        groups[f"{c.name}:{compare_form(c.name, c.normalized)!r}"].append(c)
    for g in groups.values():
        methods = {c.source for c in g if not c.extra.get("expanded")} | (
            {"label"} if any(c.label for c in g) else set())
        for c in g:
            c.agree = max(1, len(methods))


# ---------------------------------------------------------------- training

def ranker_rows(doc: DocText, doc_type: str, cands: list[Candidate], corrected: dict[str, Any],
                base_score) -> list[dict]:
    """Training rows from one reviewed document: per field with a corrected value, every candidate's features
    and whether its value equals the reviewer's (``corrected``: {field: value}). ``base_score(c)`` is the rules'
    score of a candidate. Rows: {"doc_type", "field", "x": [[...]], "y": [0|1, ...]} (JSON-ready)."""
    st = _DocStats(doc)
    by_name: dict[str, list[Candidate]] = defaultdict(list)
    for c in cands:
        by_name[c.name].append(c)
    rows = []
    for name, value in corrected.items():
        cs = by_name.get(name)
        if not cs or value in (None, ""):
            continue
        target = compare_form(name, value)
        ys = [int(compare_form(name, c.normalized) == target or compare_form(name, c.value) == target) for c in cs]
        row = {"doc_type": doc_type, "field": name,
               "x": [[round(v, 4) for v in candidate_features(c, st, base_score(c))] for c in cs], "y": ys}
        if kind_of(name) not in ("money", "date"):
            row["value"] = str(value)  # remembered: the same vendor's name/address on later documents
        rows.append(row)
    return rows


def _prior(n: int, base: float | None = None) -> list[float]:
    w = [0.0] * n
    w[FEATURES.index("base")] = PRIOR_BASE_WEIGHT if base is None else base
    return w


def fit_ranker(rows: list[dict], l2: float = 3.0, iters: int = 30, prior_base: float | None = None) -> dict:
    """Conditional-logit weights per "doc_type/field" from ``ranker_rows`` output. Rows without a right
    candidate only count towards ``coverage`` (the share of documents where the right value was a candidate)."""
    import numpy as np

    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[f"{r['doc_type']}/{r['field']}"].append(r)
    out: dict[str, Any] = {"version": RANKER_VERSION, "features": FEATURES, "models": {}}
    for key, rs in groups.items():
        usable = [(np.asarray(r["x"], float), np.asarray(r["y"], float)) for r in rs if any(r["y"]) and len(r["y"])]
        w0 = np.asarray(_prior(len(FEATURES), prior_base))
        w = w0.copy()
        n = len(usable)
        if n:
            d = len(FEATURES)
            for _ in range(iters):  # Newton steps on the penalised conditional log-likelihood
                grad = l2 * (w - w0)
                hess = l2 * np.eye(d)
                for X, y in usable:
                    s = X @ w
                    p = np.exp(s - s.max())
                    p /= p.sum()
                    sp = np.where(y > 0, s, -np.inf)  # softmax over the right candidates only (log-space safe)
                    q = np.exp(sp - sp.max())
                    q /= q.sum()
                    grad += X.T @ (p - q)  # d/dw of -log sum_pos p
                    mu = X.T @ p
                    hess += (X.T * p) @ X - np.outer(mu, mu)  # covariance of features under p (PSD part)
                step = np.linalg.solve(hess, grad)
                w -= step
                if float(np.abs(step).max()) < 1e-5:
                    break
        memory = list(dict.fromkeys(r["value"] for r in rs if r.get("value")))[-MEMORY_MAX_VALUES:]
        out["models"][key] = {"w": [round(float(v), 5) for v in w], "n_docs": len(rs), "n_usable": n,
                              "coverage": round(n / len(rs), 4) if rs else 0.0, "memory": memory}
    return out


class Ranker:
    """Loaded ranker: ``has(doc_type, field)``, ``choose(...)``."""

    def __init__(self, data: dict | None):
        data = data or {}
        self.models = data.get("models", {}) if data.get("features") == FEATURES else {}

    def has(self, doc_type: str, name: str, min_docs: int = 1) -> bool:
        m = self.models.get(f"{doc_type}/{name}")
        return bool(m and m["n_usable"] >= min_docs)

    def memory(self, doc_type: str, name: str) -> list[str]:
        m = self.models.get(f"{doc_type}/{name}")
        return list(m.get("memory") or []) if m else []

    def doc_types(self) -> set[str]:
        return {k.split("/", 1)[0] for k in self.models}

    def scores(self, doc_type: str, name: str, feats: list[list[float]]) -> list[float]:
        """Probability, per candidate, that it is the right value (softmax over candidates x coverage)."""
        m = self.models[f"{doc_type}/{name}"]
        w = m["w"]
        s = [sum(a * b for a, b in zip(w, x)) for x in feats]
        mx = max(s)
        e = [math.exp(v - mx) for v in s]
        z = sum(e)
        cov = m.get("coverage", 1.0)
        return [v / z * cov for v in e]


def rank_candidates(ranker: Ranker, doc_type: str, name: str, cs: list[Candidate], doc: DocText,
                    base_score, stats: _DocStats | None = None) -> list[tuple[Candidate, float]]:
    """Candidates of one field sorted by the ranker's probability (candidates sharing a value pool theirs)."""
    st = stats or _DocStats(doc)
    feats = [candidate_features(c, st, base_score(c)) for c in cs]
    ps = ranker.scores(doc_type, name, feats)
    pooled: dict[Any, float] = defaultdict(float)
    for c, p in zip(cs, ps):
        pooled[compare_form(name, c.normalized)] += p
    best: dict[Any, tuple[Candidate, float]] = {}
    for c, p in zip(cs, ps):
        k = compare_form(name, c.normalized)
        if k not in best or (best[k][0].extra.get("expanded") and not c.extra.get("expanded")) or (
                p > best[k][1] and bool(c.extra.get("expanded")) == bool(best[k][0].extra.get("expanded"))):
            best[k] = (c, p)  # an extractor's candidate represents its value over the wider net's
    out = [(c, min(0.99, pooled[k])) for k, (c, _) in best.items()]
    out.sort(key=lambda x: (-x[1], x[0].start))
    return out
