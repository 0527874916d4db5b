"""Regex and label rules that propose field candidates (general patterns, no per-document tuning)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .candidates import Candidate
from .layout_text import DocText
from .normalize import (
    AMOUNT_RE,
    currency_code,
    detect_currency,
    find_account_numbers,
    find_amounts,
    find_dates,
    find_ibans,
    money,
    parse_number,
)

SEP = r"[\s:#.\-=]*"


def _line_span(doc: DocText, pos: int) -> tuple[int, int]:
    """(start, end) of the text line containing ``pos``."""
    s = doc.text.rfind("\n", 0, pos) + 1
    s = max(s, doc.text.rfind("\f", 0, pos) + 1)
    e = len(doc.text)
    for ch in "\n\f":
        k = doc.text.find(ch, pos)
        if k >= 0:
            e = min(e, k)
    return s, e


def after_label(doc: DocText, label_rx: re.Pattern[str], lines_below: int = 1) -> Iterable[tuple[int, int, int]]:
    """For each label hit: (label_start, value_start, value_end) spans to search for a value: the rest of the
    label's line first, then each of the next ``lines_below`` lines (the value is often under its label)."""
    for m in label_rx.finditer(doc.text):
        s, e = _line_span(doc, m.end())
        yield m.start(), m.end(), e
        pos = e
        for _ in range(lines_below):
            if pos + 1 >= len(doc.text):
                break
            s2, e2 = _line_span(doc, pos + 1)
            yield m.start(), s2, e2
            pos = e2


def dates(doc: DocText, name: str, label_rx: re.Pattern[str] | None, dayfirst: bool = True,
          veto_rx: re.Pattern[str] | None = None) -> list[Candidate]:
    """Dates after a label (prior high), then every other date (earliest first: document dates lead).
    Dates right after a veto word (due date, order date, ...) are another field's and are skipped."""
    out: list[Candidate] = []
    seen: set[int] = set()
    vetoed: set[int] = set()
    if veto_rx is not None:
        for s, e, _ in find_dates(doc.text, dayfirst):
            before = doc.text[max(0, s - 40):s]
            before = before[before.rfind("\n") + 1:] if before.rfind("\n") >= len(before) - 40 else before
            if veto_rx.search(before):
                vetoed.add(s)
    if label_rx is not None:
        for ls, vs, ve in after_label(doc, label_rx, lines_below=1):
            if veto_rx is not None and veto_rx.search(doc.text[_line_span(doc, ls)[0]:ls + 12]):
                continue
            for s, e, iso in find_dates(doc.text[vs:ve], dayfirst)[:1]:
                if vs + s in vetoed or vs + s in seen:
                    continue
                seen.add(vs + s)
                out.append(Candidate(name, doc.text[vs + s: vs + e], iso, vs + s, vs + e, label=True,
                                     prior=0.9 if (vs == ls or vs - ls < 40) else 0.7))
    n_free = 0
    for s, e, iso in find_dates(doc.text, dayfirst):
        if s not in seen and s not in vetoed:
            # unlabelled dates: the first ones in the document are the likeliest document dates
            out.append(Candidate(name, doc.text[s:e], iso, s, e, label=False, prior=0.55 if n_free == 0 else 0.3))
            n_free += 1
    return out


def amounts(doc: DocText, name: str, label_rx: re.Pattern[str], default_currency: str | None,
            lines_below: int = 1, veto_rx: re.Pattern[str] | None = None) -> list[Candidate]:
    """Money amounts after a label: the rightmost amount on the label's line, else the first on the line below.
    A label whose line start matches ``veto_rx`` (sub-total, total qty, ...) is another quantity's."""
    out: list[Candidate] = []
    for m in label_rx.finditer(doc.text):
        ls0, le0 = _line_span(doc, m.start())
        if veto_rx is not None and veto_rx.search(doc.text[ls0:min(le0, m.end() + 15)]):
            continue
        spans = [(m.end(), le0, 0.9)]
        pos = le0
        for _ in range(lines_below):
            if pos + 1 >= len(doc.text):
                break
            s2, e2 = _line_span(doc, pos + 1)
            spans.append((s2, e2, 0.6))
            pos = e2
        for vs, ve, prior in spans:
            seg = doc.text[vs:ve]
            hits = [h for h in find_amounts(seg) if h[2]["decimals"] or h[2]["currency"]]
            if not hits:
                continue
            s, e, val = hits[-1] if prior > 0.8 else hits[0]
            cur = val["currency"] or default_currency
            # the label's wording: the same value under a differently worded label is further evidence, the
            # same label repeated (a summary line printed twice) is not
            wording = re.sub(r"[^a-z]", "", doc.text[ls0:m.end()].lower())
            out.append(Candidate(name, seg[s:e].strip(), money(val["amount"], cur), vs + s, vs + e, label=True,
                                 prior=prior, extra={"currency": cur, "amount": val["amount"], "wording": wording}))
            break
    return out


def labelled_text(doc: DocText, name: str, label_rx: re.Pattern[str], value_rx: re.Pattern[str] | None = None,
                  lines_below: int = 1, prior: float = 0.8) -> list[Candidate]:
    """Free text after a label (or on the next line), optionally constrained by ``value_rx``."""
    out: list[Candidate] = []
    for ls, vs, ve in after_label(doc, label_rx, lines_below=lines_below):
        seg = doc.text[vs:ve]
        if value_rx is not None:
            m = value_rx.search(seg)
            if not m:
                continue
            s, e = m.span("v") if "v" in value_rx.groupindex else m.span()
        else:
            stripped = seg.strip(" :#.-\t")
            if not stripped:
                continue
            s = seg.find(stripped)
            e = s + len(stripped)
        val = seg[s:e].strip()
        if not val:
            continue
        out.append(Candidate(name, val, val, vs + s, vs + e, label=True, prior=prior if vs < ve else prior))
    return out


def ibans(doc: DocText) -> list[Candidate]:
    out = []
    for s, e, compact, valid in find_ibans(doc.text):
        if valid:
            out.append(Candidate("iban", doc.text[s:e], compact, s, e, valid=True, prior=0.9,
                                 label=bool(re.search(r"(?i)iban", doc.text[max(0, s - 30):s]))))
    return out


def account_numbers(doc: DocText) -> list[Candidate]:
    return [Candidate("account_number", doc.text[s:e], digits, s, e, label=True, prior=0.85)
            for s, e, digits in find_account_numbers(doc.text)]


def currency(doc: DocText, total: Candidate | None) -> Candidate | None:
    code = total.extra.get("currency") if total is not None else None
    if code:
        return Candidate("currency", code, code, total.start, total.end, label=True, prior=0.9)
    code = detect_currency(doc.text)
    if code:
        m = re.search(rf"(?<![A-Za-z])(?:{re.escape(code)})", doc.text)
        s, e = (m.start(), m.end()) if m else (-1, -1)
        return Candidate("currency", code, code, s, e, label=False, prior=0.7)
    return None


__all__ = ["AMOUNT_RE", "currency_code", "parse_number", "dates", "amounts", "labelled_text", "ibans",
           "account_numbers", "currency", "after_label"]
