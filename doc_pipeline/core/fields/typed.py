"""Per-document-type candidate generators (receipt, invoice, pay stub, bank statement, contract)."""

from __future__ import annotations

import re

from .candidates import Candidate
from .layout_text import DocText
from .normalize import detect_currency, find_dates
from . import rules

I = re.IGNORECASE

TOTAL_LABEL = re.compile(
    r"(?<![A-Za-z])(?:grand\s*total|total\s*amount|amount\s*due|balance\s*due|nett?\s*total|total\s*(?:incl\w*|ttc|rm|payable|due)"
    r"|total\s*\(?(?:rm|incl\w*[^)]*)\)?|rounded\s*total|total\s*sales|totaal(?:bedrag)?|gesamt(?:betrag)?|"
    r"montant\s*total|total\s*[àa]\s*payer|te\s*betalen|endbetrag|a[mn]ount\s*incl\w*|total|due)\b", I)
TOTAL_VETO = re.compile(r"(?i)sub\s*-?total|accepted\s*total|due\s*date|"
                        r"total\s*(?:qty|quantity|items?|excl|ht\b|discount|savings|tax\b|gst\b|"
                        r"sst\b|vat\b)|total\s*(?:no|number)\s*of")
DATE_LABEL = re.compile(r"(?:invoice\s*date|date\s*of\s*issue|issue\s*date|factuurdatum|rechnungsdatum|"
                        r"date\s*de\s*facture|datum|date|dated|tarikh)\b", I)
INVOICE_NO_LABEL = re.compile(
    r"(?:(?:invoice|inv|f\s?actuur|f\s?acture|r\s?echnung|bill|receipt)s?\s*-?\s*(?:no\.?|number|num\.?|nr\.?|n\s?[°ºo]\.?|"
    r"#|nummer|num[ée]ro|id)|^#)", I | re.MULTILINE)
REF_NO_LABEL = re.compile(r"(?:booking|order|reference|ref|document)\s*(?:id|no\.?|number|#)", I)
DATE_VETO = re.compile(r"(?i)\b(?:due|limite|[ée]ch[ée]ance|f[äa]llig|order|orderdatum|birth|expir\w*|delivery|"
                       r"levering|lieferdatum|check.?out|valid|print(?:ed)?|period)\b")
ID_VALUE = re.compile(r"(?P<v>(?=[A-Z0-9\-/_.]*\d)[A-Z0-9][A-Z0-9\-/_.]{2,24}[A-Z0-9])", I)


_TAX_SUMMARY = re.compile(r"(?i)\b(?:gst|tax|sst|vat)\s*(?:summary|analysis)")  # a tax table under the receipt
# a tax line: a rate ("GST @ 6%", "INCLUDES 6% GST", "SR 6%"): its amount is the tax, not the total
_TAX_RATE = re.compile(r"(?i)@\s*\d+(?:\.\d+)?\s*%|\b\d+(?:\.\d+)?\s*%\s*(?:gst|sst|vat|tax)\b")
_TENDERED = re.compile(r"(?i)(?<![A-Za-z])(?:cash|tender\w*|paid|payment|pay|fay|accepted\s*total|received|visa|"
                       r"master\w*|card|credit|debit)\b")
_CHANGE = re.compile(r"(?i)(?<![A-Za-z])(?:change|chan?ge\s*due|baki|kembalian)\b")


def _labelled_amount(doc: DocText, rx: re.Pattern[str], cur: str | None) -> tuple[Candidate | None, float | None]:
    hits = rules.amounts(doc, "_", rx, cur, lines_below=0)
    if not hits:
        return None, None
    c = hits[-1]  # the last one: payment lines follow the total
    return c, c.extra.get("amount")


def _paid_minus_change(doc: DocText, cur: str | None) -> Candidate | None:
    """The total implied by the payment lines: amount tendered minus change given (a receipt's arithmetic)."""
    paid_c, paid = _labelled_amount(doc, _TENDERED, cur)
    change_c, change = _labelled_amount(doc, _CHANGE, cur)
    if paid is None or change is None or paid_c is None or change_c is None or change_c.start < paid_c.start:
        return None
    total = round(abs(paid) - abs(change), 2)  # "CASH -50.00": tendered amounts are sometimes signed
    if total <= 0:
        return None
    from .normalize import money

    return Candidate("total", f"{total:.2f}", money(total, cur), paid_c.start, paid_c.end, label=True, prior=0.55,
                     engine="rules:paid-change", extra={"amount": total, "currency": cur, "derived": True})


def _best_total(doc: DocText, cur: str | None) -> list[Candidate]:
    cands = rules.amounts(doc, "total", TOTAL_LABEL, cur, lines_below=1, veto_rx=TOTAL_VETO)
    summary_at = min((m.start() for m in _TAX_SUMMARY.finditer(doc.text)), default=len(doc.text) + 1)
    derived = _paid_minus_change(doc, cur)
    largest = max((c.extra.get("amount", 0) for c in cands), default=0)
    for c in list(cands):
        line = doc.lines[doc.line_at(c.start)].text if doc.lines else ""
        if _TAX_SUMMARY.search(line) or (_TAX_RATE.search(line) and c.extra.get("amount", 0) < largest):
            # "(Total included GST @ 6% : 0.42)", "TOTAL INCLUDES 6% GST 0.63": a tax amount (smaller than some
            # other total), not the total
            cands.remove(c)
            continue
        if c.start > summary_at:
            if any(x.start < summary_at for x in cands):
                cands.remove(c)  # a "TOTAL" row of the tax summary table under a receipt whose total is above
                continue
            c.prior = max(0.3, c.prior - 0.4)
    if derived is not None:
        cands.append(derived)
    for c in cands:
        lbl = doc.text[max(0, c.start - 80):c.start].lower()
        # more specific total labels and later positions (totals sit at the bottom) are likelier
        if re.search(r"grand|amount due|nett|rounded|payable|incl|ttc|te betalen|gesamt|endbetrag|totaal", lbl):
            c.prior = min(1.0, c.prior + 0.05)
        c.extra["pos"] = c.start / max(1, len(doc.text))
    if cands:  # several "total" lines (e.g. a tax summary's): the grand total is the largest
        top = max(x.extra.get("amount", 0) for x in cands)
        for x in cands:
            if x.extra.get("amount", 0) == top:
                x.prior = min(1.0, x.prior + 0.04)
    return cands


_CORP_SUFFIX = re.compile(r"(?i)\b(sdn\.?\s*bhd|bhd|ltd|llc|inc|gmbh|b\.?v\.?|s/b|enterprise|trading|restaurant|store|"
                          r"mart|company|co\.|corp|florist|bakeries|stationery|hardware|marketing|supermarket)\b")
_SUFFIX_ONLY = re.compile(r"(?i)^\(?(?:m|kl|sp|s)?\)?\s*(?:sdn\.?\s*bhd\.?|bhd\.?|s/b|ltd\.?|limited|inc\.?)$")
_REG_TAIL = re.compile(r"\s*(?:\(\s*(?:co(?:mpany)?\.?\s*)?(?:reg\w*\.?\s*)?(?:no\.?\s*)?[:.]?\s*"
                       r"[\w ]*\d{4,}[\w\- ]*\)?"
                       r"|\b\d{5,}[\w\-]*\b).*$", re.I)
# a registration number in the middle of a name line ("TEO HENG STATIONERY (001451637-M) & BOOKS")
_REG_MID = re.compile(r"\s*\(\s*\d{4,}[\w\-]*\s*\)\s*(?=\S)")
# OCR noise or a branch/outlet code after a company suffix ("... SDN BHD SE", "... BHD A05148")
_AFTER_SUFFIX = re.compile(r"(?i)(\b(?:sdn\.?\s*bhd|bhd|ltd|inc|llc|gmbh|s/b)\.?)\s+(?:\S{1,2}|\S*\d\S*)$")
# a legal-form suffix: the line is the registered business name
_LEGAL_FORM = re.compile(r"(?i)\b(?:sdn\.?\s*bhd|bhd|s/b|ltd|limited|llc|inc|gmbh|corp\w*|plc|pte)\b\.?")
# an address line, not a name: starts with a house number or holds a street/unit word next to a number
_ADDRESS_LIKE = re.compile(r"(?i)^(?:no\.?\s*\d|\d+[a-z]?\s*,)|\b(?:jalan|jln|lorong|taman|lot|level|floor|flr|blok|block|"
                           r"street|road|avenue)\b.*\d|\d.*\b(?:jalan|jln|lorong|taman|street|road)\b")
_CONTINUES = re.compile(r"(?:[&\-,]|\b(?:and|of|the))$", re.I)  # a name line that goes on below
_CONTINUATION = re.compile(r"(?i)^(?:co\.|&|and\b|\(m\)|sdn\b|bhd\b)")  # a line that finishes the name above


def _close(a: str, b: str) -> bool:
    """``a`` is ``b`` with at most one character substituted (an OCR misread)."""
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b)) <= 1


_LEGAL_PAIR = re.compile(r"\b([A-Za-z]{3})(\.?\s+)([A-Za-z]{3})(?=\.?$)")


def _fix_name_ocr(t: str) -> str:
    """OCR misreads in a business name: "$" for "S" next to letters ("$/B"), "§" for "&", and one misread letter
    in one word of a closing legal form "SDN BHD" ("SDN EHD", "SIN BHD")."""
    t = re.sub(r"\$(?=[A-Za-z/])|(?<=[A-Za-z])\$", "S", t)
    t = re.sub(r"(?<=\s)§(?=\s)", "&", t)

    def legal(m: re.Match[str]) -> str:
        a, sep, b = m.group(1), m.group(2), m.group(3)
        if _close(a.lower(), "sdn") and _close(b.lower(), "bhd") and (a.lower() == "sdn" or b.lower() == "bhd"):
            up = a.isupper() or b.isupper()
            return ("SDN" if up else "Sdn") + sep + ("BHD" if up else "Bhd")
        return m.group(0)

    return _LEGAL_PAIR.sub(legal, t)


def _name_above(above, line, above_text: str, text: str) -> bool:
    """The registered name (legal-form suffix) is the second line of a name printed over two lines: the line just
    above it, tight (gap < 0.6 line heights), in similar print (height within 1.35x), centred on it, written in the
    same case and without digits or a legal form of its own ("GHEE HIANG" over "GH DISTRIBUTOR ... SDN BHD")."""
    if not _LEGAL_FORM.search(text) or _LEGAL_FORM.search(above_text) or any(ch.isdigit() for ch in above_text):
        return False
    words = above_text.split()
    if _caps(above_text) != _caps(text) or sum(len(w) == 1 for w in words) > 1 \
            or sum(ch.isalpha() for ch in above_text) < 0.8 * len(above_text.replace(" ", "")):
        return False  # OCR noise over the name ("(LTP T G") is no part of it
    h0, h1 = above.height, line.height
    if max(h0, h1) > 1.35 * min(h0, h1) or line.y0 - above.y1 > 0.6 * min(h0, h1):
        return False
    (ax0, _, ax1, _), (bx0, _, bx1, _) = above.bbox, line.bbox
    return abs((ax0 + ax1) / 2 - (bx0 + bx1) / 2) < 0.15 * max(ax1 - ax0, bx1 - bx0)


def _caps(t: str) -> bool:
    letters = [ch for ch in t if ch.isalpha()]
    return bool(letters) and sum(ch.isupper() for ch in letters) >= 0.8 * len(letters)


def company_lines(doc: DocText, max_lines: int = 6) -> list[Candidate]:
    """Header lines that look like a business name (top of the first page, letters, not a label); a
    registration number after the name is cut off and a suffix-only next line ("SDN BHD") joined on."""
    out: list[Candidate] = []
    lines = doc.lines[:max_lines + 1]
    for i, ln in enumerate(lines[:max_lines]):
        t = _REG_TAIL.sub("", _REG_MID.sub(" ", ln.text)).strip()
        t = _fix_name_ocr(_AFTER_SUFFIX.sub(r"\1", _fix_name_ocr(t)))
        letters = sum(ch.isalpha() for ch in t)
        if letters < 3 or letters < 0.5 * len(t) or ":" in t or re.search(r"(?i)receipt|invoice|tax|tel|fax|"
                                                                           r"phone|www\.|@", t):
            continue
        end = ln.offsets[0][0] + len(t) if ln.text.startswith(t) else ln.offsets[-1][1]
        if i + 1 < len(lines) and _SUFFIX_ONLY.match(_REG_TAIL.sub("", lines[i + 1].text).strip()):
            nxt = _REG_TAIL.sub("", lines[i + 1].text).strip()
            t = f"{t} {nxt}"
            end = lines[i + 1].offsets[0][0] + len(nxt)
        start = ln.offsets[0][0]
        if out and i > 0 and out[-1].end >= lines[i - 1].offsets[-1][0] and (
                _CONTINUES.search(out[-1].value) or _CONTINUATION.match(t)
                or _name_above(lines[i - 1], ln, out[-1].value, t)):
            # the name runs over two lines ("POPULAR BOOK-" / "CO. (M) SDN BHD"): join them
            prev = out.pop()
            t = f"{prev.value.rstrip('-').rstrip()} {t}"
            start = prev.start
        prior = 0.8 - 0.1 * len(out)
        if _LEGAL_FORM.search(t):
            prior += 0.25
        elif _CORP_SUFFIX.search(t):
            prior += 0.15
        if _ADDRESS_LIKE.search(t):
            prior -= 0.3  # the first address line under a name that was not read
        out.append(Candidate("company", t, t, start, end, label=False, prior=max(0.2, prior)))
        if len(out) >= 3:
            break
    return out


_ADDRESS_STOP = re.compile(
    r"(?i)\b(?:te[l1]|fax|phone|ph|hp|gst|sst|reg|co\.?\s*reg|tax|invoice|receipt|cashier|date|time|table|"
    r"e-?mail|www|http|company\s*no|roc|no\.?\s*:|counter|bill|order|thank|welcome|member)\b|@|\d{2}[:/]\d{2}[:/]\d{2,4}")
_ADDRESS_WORD = re.compile(r"(?i)\b(?:jalan|jln|lot|taman|street|road|rd|avenue|floor|level|blok|block|lorong|"
                           r"persiaran|bandar|kawasan|wisma|plaza|mall|menara|bangunan|no)\b")
_REG_NO = re.compile(r"^\(?[\w\- ]*\d{4,}[\w\-]*\)?[.,]?$")


def _fix_address_ocr(t: str) -> str:
    """Common OCR confusions in address text: a comma glued to the next word, "I" read for "l" inside a word
    ("JIn", "BIk"), a digit inside a word of letters ("Leve1", "8ESAR")."""
    t = re.sub(r",(?=[A-Za-z0-9])", ", ", t)
    # punctuation as addresses write it: a comma (read as a full stop) after a house/unit number before the next
    # part ("NO.32 & 33. JALAN"), no space before a comma or around a slash ("SR 1 /9"), an apostrophe read
    # between a word and its number ("LEVEL'6")
    t = re.sub(r"(?<=\d)\.(?=\s+[A-Za-z])", ",", t)
    t = re.sub(r"\s+,", ",", t)
    t = re.sub(r"(?<=\w)\s*/\s*(?=\w)", "/", t)
    t = re.sub(r"(?<=[A-Za-z])['’`](?=\d)", " ", t)
    t = re.sub(r"\$(?=[A-Za-z/])|(?<=[A-Za-z])\$", "S", t)  # "$" read for "S" ("JALAN $S21/39")
    t = re.sub(r"(?<=[A-Za-z])I(?=[a-z])", "l", t)
    t = re.sub(r"\bJin\b", "Jln", t)
    t = re.sub(r"\bJIN\b", "JLN", t)

    def word(m: re.Match[str]) -> str:
        w = m.group(0)
        if sum(ch.isdigit() for ch in w) != 1 or sum(ch.isalpha() for ch in w) < 3:
            return w
        upper = w.isupper() or sum(ch.isupper() for ch in w) > 1
        table = {"8": "B", "1": "L" if upper else "l", "0": "O" if upper else "o", "5": "S" if upper else "s"}
        return "".join(table.get(ch, ch) for ch in w)

    return re.sub(r"\b[A-Za-z]*\d[A-Za-z]+\b|\b[A-Za-z]+\d\b", word, t)


def address(doc: DocText, company: Candidate | None) -> list[Candidate]:
    """Consecutive header lines after the company name, up to the first contact/tax/label line."""
    if not doc.lines:
        return []
    start_line = doc.line_at(company.end) + 1 if company is not None and company.start >= 0 else 1
    lines = []
    for ln in doc.lines[start_line:start_line + 8]:
        t = ln.text.strip()
        if not t:
            continue
        if not lines and (_REG_NO.match(t) or _SUFFIX_ONLY.match(_REG_TAIL.sub("", t).strip())
                          or re.search(r"(?i)\bco\.?\s*(?:no|reg)|\(\d{4,}|\d{5,}-[a-z]\b|\breg\w*\.?\s*no|"
                                       r"company\s*no|^\(?gst\b", t)):
            continue  # the name's second line or its registration/GST number, not the address yet
        if _ADDRESS_STOP.search(t) or (not any(ch.isalpha() for ch in t)):
            break
        lines.append(ln)
        if len(lines) >= 5:
            break
    # a branch name or "Licensee of ..." line before the street: drop leading lines without digits or address
    # words, and a registration number line between them and the street
    while len(lines) > 1 and ((not re.search(r"\d", lines[0].text) and not _ADDRESS_WORD.search(lines[0].text))
                              or _REG_NO.match(lines[0].text.strip())):
        lines = lines[1:]
    # after the postcode line, a line without digits or address words written in another case than the address
    # ("56000 Kuala Lumpur, Malaysia" / "SUNWAY VELOCITY") names the branch or outlet
    post = next((k for k, ln in enumerate(lines) if re.search(r"(?<![\d-])\d{5}(?![\d-])", ln.text)), None)
    if post is not None:
        case = _caps(" ".join(ln.text for ln in lines[:post + 1]))
        for k in range(post + 1, len(lines)):
            t = lines[k].text
            if not re.search(r"\d", t) and not _ADDRESS_WORD.search(t) and _caps(t) != case:
                lines = lines[:k]
                break
    if not lines:
        return []
    # a colon or semicolon ending an address line is OCR noise (addresses do not end parts with one)
    value = _fix_address_ocr(" ".join(ln.text.strip().rstrip(":;").rstrip() for ln in lines))
    has_digits = any(ch.isdigit() for ch in value)
    return [Candidate("address", value, value, lines[0].offsets[0][0], lines[-1].offsets[-1][1], label=False,
                      prior=0.75 if has_digits else 0.45)]


def receipt(doc: DocText) -> list[Candidate]:
    cur = detect_currency(doc.text)
    c: list[Candidate] = []
    companies = company_lines(doc)
    c += companies
    c += address(doc, max(companies, key=lambda x: x.prior) if companies else None)
    dates = rules.dates(doc, "date", DATE_LABEL, veto_rx=DATE_VETO)
    c += dates or _compact_dates(doc)
    c += _best_total(doc, cur)
    return c


_COMPACT_DATE = re.compile(r"(?<![\w.:/-])(\d{2})(\d{2})((?:19|20)\d{2})(?![\w.:/-])")


def _compact_dates(doc: DocText) -> list[Candidate]:
    """ddmmyyyy printed without separators ("27032018"): only when no ordinary date was found."""
    from datetime import date as _date

    out = []
    for m in _COMPACT_DATE.finditer(doc.text):
        try:
            iso = _date(int(m[3]), int(m[2]), int(m[1])).isoformat()
        except ValueError:
            continue
        out.append(Candidate("date", m[0], iso, m.start(), m.end(), label=False, prior=0.35))
    return out[:1]


def invoice(doc: DocText) -> list[Candidate]:
    cur = detect_currency(doc.text)
    c: list[Candidate] = []
    c += [Candidate("issuer", x.value, x.normalized, x.start, x.end, prior=x.prior) for x in company_lines(doc)]
    c += rules.dates(doc, "date", DATE_LABEL, veto_rx=DATE_VETO)
    totals = _best_total(doc, cur)
    c += totals
    cur_c = rules.currency(doc, max(totals, key=lambda t: t.prior) if totals else None)
    if cur_c:
        c.append(cur_c)
    c += rules.labelled_text(doc, "invoice_number", INVOICE_NO_LABEL, ID_VALUE)
    c += rules.labelled_text(doc, "invoice_number", REF_NO_LABEL, ID_VALUE, prior=0.45)
    c += rules.ibans(doc)
    return c


PAY_PERIOD = re.compile(r"(?:pay\s*period|period\s*(?:ending|covered)?)", I)


def period(doc: DocText, name: str, label_rx: re.Pattern[str]) -> list[Candidate]:
    """A date range after a label; normalized to {"start", "end"} ISO dates (one date: start == end)."""
    out = []
    for ls, vs, ve in rules.after_label(doc, label_rx, lines_below=0):
        hits = find_dates(doc.text[vs:ve])
        if not hits:
            continue
        s0, e1 = hits[0][0], hits[min(1, len(hits) - 1)][1]
        norm = {"start": hits[0][2], "end": hits[min(1, len(hits) - 1)][2]}
        out.append(Candidate(name, doc.text[vs + s0: vs + e1], norm, vs + s0, vs + e1, label=True, prior=0.85))
    return out


def pay_stub(doc: DocText) -> list[Candidate]:
    cur = detect_currency(doc.text)
    c: list[Candidate] = []
    c += rules.labelled_text(doc, "employer", re.compile(r"(?:employer|company)(?:\s*name)?\s*:", I))
    c += rules.labelled_text(doc, "employee", re.compile(r"(?:employee|name)(?:\s*name)?\s*:", I))
    c += period(doc, "pay_period", PAY_PERIOD)
    c += rules.amounts(doc, "gross_pay", re.compile(r"gross\s*(?:pay|earnings|salary|wages)?", I), cur, 0)
    c += rules.amounts(doc, "net_pay", re.compile(r"net\s*(?:pay|salary|amount|wages)", I), cur, 0)
    return c


def bank_statement(doc: DocText) -> list[Candidate]:
    cur = detect_currency(doc.text)
    c: list[Candidate] = []
    c += rules.labelled_text(doc, "account_holder",
                             re.compile(r"(?:account\s*holder|account\s*name|customer(?:\s*name)?)\s*:", I))
    c += rules.account_numbers(doc)
    c += rules.ibans(doc)
    c += period(doc, "statement_period", re.compile(r"(?:statement\s*period|period|statement\s*date)", I))
    c += rules.amounts(doc, "opening_balance", re.compile(r"(?:opening|beginning|previous)\s*balance", I), cur, 0)
    c += rules.amounts(doc, "closing_balance", re.compile(r"(?:closing|ending|new)\s*balance", I), cur, 0)
    return c


def generic(doc: DocText) -> list[Candidate]:
    c: list[Candidate] = []
    c += rules.dates(doc, "date", DATE_LABEL, veto_rx=DATE_VETO)
    c += rules.ibans(doc)
    c += rules.account_numbers(doc)
    cur = detect_currency(doc.text)
    c += _best_total(doc, cur)
    return c


from .contract import contract  # noqa: E402

EXTRACTORS = {
    "contract": contract,
    "receipt": receipt,
    "invoice": invoice,
    "pay_stub": pay_stub,
    "bank_statement": bank_statement,
}
