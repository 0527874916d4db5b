"""Document type from text and layout: weighted keyword evidence plus page-shape priors.

Deliberately simple and explainable (every score is a sum of named cues); the hint given at upload wins.
"""

from __future__ import annotations

import math
import re

from doc_pipeline.core.models import Page

from .schema import DOC_TYPES

# (regex, weight) per type; counted once per distinct cue, so a long document cannot win by repetition alone.
CUES: dict[str, list[tuple[str, float]]] = {
    "receipt": [
        (r"\breceipt\b", 2.0), (r"\bcash(ier)?\b", 1.5), (r"\bchange\b", 1.0), (r"\b(gst|sst)\b", 1.5),
        (r"\btax invoice\b", 1.0), (r"\brounding\b", 1.5), (r"\bthank you\b", 1.5), (r"\bqty\b", 0.5),
        (r"\bsdn\.? ?bhd\b", 1.5), (r"\btotal\b", 0.5), (r"\bvisa\b|\bmastercard\b", 0.5), (r"\btable\s*\d", 0.5),
        (r"\bcounter\b", 0.5), (r"\bitem(s)?\b", 0.3), (r"\btender(ed)?\b", 1.0), (r"\bpayment\b", 0.2),
    ],
    "invoice": [
        (r"\binvoice\b", 2.0), (r"\bfactu(u?r|re)\b", 2.0), (r"\brechnung\b", 2.0), (r"\bbill to\b", 1.5),
        (r"\bdue date\b", 1.0), (r"\bvat\b|\bbtw\b|\btva\b|\bmwst\b", 1.0), (r"\binvoice (no|number|#)", 1.5),
        (r"\bsubtotal\b", 0.5), (r"\bpayment terms\b", 1.0), (r"\bamount due\b", 1.0), (r"\biban\b", 0.3),
        # a seller's tax registration number is printed on invoices (GSTIN, VAT reg. no, USt-IdNr, SIRET ...)
        (r"\bgstin\b|\bvat ?(reg(istration)?|no|number|id)\b|\bust-?id(nr)?\b|\bsiret\b|\btax id\b", 1.0),
    ],
    "pay_stub": [
        (r"\bpay ?(stub|slip)\b|\bpayslip\b", 3.0), (r"\bgross pay\b", 2.0), (r"\bnet pay\b", 2.0),
        (r"\bearnings\b", 1.0), (r"\bdeductions\b", 1.0), (r"\bpay period\b", 1.5), (r"\bemployee\b", 1.0),
        (r"\bemployer\b", 1.0), (r"\bytd\b|\byear to date\b", 1.0), (r"\bfederal (income )?tax\b", 1.0),
    ],
    "bank_statement": [
        (r"\bstatement\b", 1.5), (r"\bopening balance\b|\bbeginning balance\b", 2.0),
        (r"\bclosing balance\b|\bending balance\b", 2.0), (r"\biban\b", 1.0), (r"\bbic\b|\bswift\b", 0.5),
        (r"\baccount (number|no)\b", 1.0), (r"\bwithdrawals?\b", 1.0), (r"\bdeposits?\b", 0.5),
        (r"\bstatement period\b", 2.0), (r"\bdebit\b", 0.5), (r"\bcredit\b", 0.3),
    ],
    "contract": [
        (r"\bagreement\b", 2.0), (r"\bwhereas\b", 2.0), (r"\bhereby\b", 1.0), (r"\bparties\b", 1.0),
        (r"\bgoverned by\b", 1.5), (r"\bconfidential(ity)?\b", 1.0), (r"\bin witness whereof\b", 2.0),
        (r"\bterminat(e|ion)\b", 0.5), (r"\bshall\b", 1.0), (r"\bhereinafter\b", 1.0), (r"\bnon-?disclosure\b", 1.0),
    ],
    "form": [
        (r"\bname\s*:", 0.5), (r"\bdate\s*:", 0.3), (r"\bsignature\b", 0.7), (r"\bphone\b|\btel\b", 0.3),
        (r"\bfax\b", 0.5), (r"\bfrom\s*:", 0.5), (r"\bto\s*:", 0.5), (r"\bsubject\s*:|\bre\s*:", 0.7),
        (r"☐|□|\[ \]", 1.0), (r"\bplease (print|complete|fill)\b", 1.0), (r"\bform\b", 0.8), (r"\bcc\s*:", 0.5),
        (r"\bpages?\s*:", 0.5), (r"\baddress\s*:", 0.3), (r"\bbrand\b", 0.3), (r"\bapproved\b", 0.5),
        # blanks to fill in ("NAME ____", "STUDY NAME_") and field hints printed under blanks ("(Name)", "(Date)")
        (r"_{3,}|[A-Za-z]_(\s|$)", 1.0), (r"\((name|date|signature|title|position|phone( number)?|address)\)", 1.0),
        (r"\b(information|contact|cover|data|request|order|record|transmittal|approval)\s+(sheet|form)\b", 1.0),
    ],
    "report": [
        (r"\babstract\b", 1.5), (r"\bintroduction\b", 1.0), (r"\bconclusions?\b", 1.0), (r"\breferences\b", 1.0),
        (r"\bfigure \d", 0.7), (r"\btable \d", 0.5), (r"\breport\b", 1.0), (r"\bsummary\b", 0.5),
    ],
    "id_document": [
        (r"\bpassport\b", 2.5), (r"\bdriver'?s? licen[cs]e\b", 2.5), (r"\bidentity card\b", 2.5),
        (r"\bdate of birth\b|\bdob\b", 1.0), (r"\bnationality\b", 1.0), (r"\bexpir(y|es|ation)\b", 0.5),
        (r"P<[A-Z]{3}", 2.0), (r"\bsex\b", 0.5),
    ],
}
_LITERAL = re.compile(r"[a-z0-9 ]+")
_QUANTIFIER = re.compile(r"[?*{]")


def required_literals(pattern: str) -> tuple[str, ...] | None:
    """Lower-case literals of which every match of `pattern` (searched with IGNORECASE) holds one: the literal
    each top-level alternative begins with after a leading ``\\b`` (``\\bpay ?(stub|slip)\\b`` -> "pay").
    None where an alternative begins otherwise (a group, a class, an escape) or with under 2 such characters."""
    alternatives, depth, start, i = [], 0, 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "|" and depth == 0:
            alternatives.append(pattern[start:i])
            start = i + 1
        i += 1
    alternatives.append(pattern[start:])
    literals = []
    for alt in alternatives:
        alt = alt.removeprefix("\\b")
        m = _LITERAL.match(alt)
        lit = m.group() if m else ""
        if lit and _QUANTIFIER.match(alt, len(lit)):  # "pay ?": the quantified last character may be absent
            lit = lit[:-1]
        lit = lit.strip()
        if len(lit) < 2:
            return None
        literals.append(lit)
    return tuple(literals)


_COMPILED = {t: [(re.compile(p, re.IGNORECASE), required_literals(p), w) for p, w in cues] for t, cues in CUES.items()}
# the only characters outside ASCII that IGNORECASE matches to ASCII letters (Python's re documentation); where
# one is in the text, the literal test below could miss a match, so every cue is searched
_FOLDS_TO_ASCII = re.compile("[\u0130\u0131\u017f\u212a]")


def doc_type_scores(pages: list[Page], text: str) -> dict[str, float]:
    head = text[:20000]  # the decisive cues are near the start; bounds the cost on long documents
    # a cue's regex is searched only where one of its literals is in the text: 95 IGNORECASE searches cost ~30 us
    # each on a 2,000-character page, a substring test ~0.1 us (1.8 -> 0.4 ms a document: PERFORMANCE.md item 66)
    low = head.lower() if not _FOLDS_TO_ASCII.search(head) else None
    scores = {t: sum(w for rx, lits, w in cues
                     if (low is None or lits is None or any(lit in low for lit in lits)) and rx.search(head))
              for t, cues in _COMPILED.items()}
    if pages:
        p = pages[0]
        aspect = p.height / max(p.width, 1.0)
        n_words = sum(len(pg.words) for pg in pages)
        if aspect > 1.8:  # long narrow slips are receipts (aspect only: scan DPI is often unknown)
            scores["receipt"] += 2.0
        elif p.width >= 500 and 1.2 < aspect < 1.6 and p.kind == "native":
            # a born-digital full A4/Letter page is rarely a till receipt; "payment receipt" pages are invoices
            scores["receipt"] -= 1.5
            scores["invoice"] += 0.5
        if len(pages) >= 3 and n_words / len(pages) > 250:  # long running text: contracts / reports
            scores["contract"] += 0.5
            scores["report"] += 0.5
        # many short "label:" lines are forms
        colon_lines = len(re.findall(r"^[^\n:]{1,40}:", head, re.MULTILINE))
        scores["form"] += min(2.0, colon_lines / 8)
        # a one-page document made mostly of short lines (labels, blanks, boxes) reads as a form
        lines = [ln for ln in head.splitlines() if ln.strip()]
        if len(pages) == 1 and len(lines) >= 8 and sum(len(ln.split()) <= 5 for ln in lines) >= 0.5 * len(lines):
            scores["form"] += 0.5
        # lots of table-like blocks and money: statements/invoices
        if any(b.type == "table" for pg in pages for b in pg.blocks):
            scores["invoice"] += 0.3
            scores["bank_statement"] += 0.3
    return scores


def classify_doc_type(pages: list[Page], text: str, hint: str | None = None) -> tuple[str, float]:
    """(doc_type, confidence). A valid ``hint`` (given at upload) wins with confidence 1.0."""
    if hint and hint in DOC_TYPES:
        return hint, 1.0
    scores = doc_type_scores(pages, text)
    best = max(scores, key=lambda t: scores[t])
    if scores[best] < 0.5:  # no real evidence for any type
        return "other", 0.5
    # softmax over scores as a rough confidence; margin matters more than the raw total
    exps = {t: math.exp(s) for t, s in scores.items()}
    conf = exps[best] / sum(exps.values())
    return best, round(min(0.99, max(0.3, conf)), 3)
