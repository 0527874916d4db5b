"""Value normalisers: dates to ISO 8601, money amounts, IBAN (mod-97), account numbers.

Pure functions on strings; each returns None when the text is not a valid value of its kind, so a regex hit
that does not normalise is never reported as a field.
"""

from __future__ import annotations

import re
from datetime import date

MONTHS = {
    "jan": 1, "january": 1, "janvier": 1, "januar": 1, "januari": 1, "ene": 1, "enero": 1,
    "feb": 2, "february": 2, "fevrier": 2, "février": 2, "februar": 2, "februari": 2,
    "mar": 3, "march": 3, "mars": 3, "märz": 3, "maerz": 3, "maart": 3, "marzo": 3,
    "apr": 4, "april": 4, "avril": 4, "abril": 4,
    "may": 5, "mai": 5, "mei": 5, "mayo": 5,
    "jun": 6, "june": 6, "juin": 6, "juni": 6, "junio": 6,
    "jul": 7, "july": 7, "juillet": 7, "juli": 7, "julio": 7,
    "aug": 8, "august": 8, "aout": 8, "août": 8, "augustus": 8, "agosto": 8,
    "sep": 9, "sept": 9, "september": 9, "septembre": 9, "septiembre": 9,
    "oct": 10, "october": 10, "octobre": 10, "oktober": 10, "octubre": 10, "okt": 10,
    "nov": 11, "november": 11, "novembre": 11, "noviembre": 11,
    "dec": 12, "december": 12, "decembre": 12, "décembre": 12, "dezember": 12, "dic": 12, "dez": 12,
}
_MONTH_RE = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))

# Each pattern: (regex, order) where order says how the numeric groups read: "ymd", "dmy" (numeric, ambiguous
# with mdy), "dMy" / "Mdy" (month name). Most specific shapes first.
DATE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?<![\d.])(?P<a>\d{4})[-/.](?P<b>\d{1,2})[-/.](?P<c>\d{1,2})(?![\d])"), "ymd"),
    (re.compile(r"(?<![\d.])(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<c>\d{4}|\d{2})(?![\d])"), "dmy"),
    # a date run into its time by OCR: "15/07/201712:07"
    (re.compile(r"(?<![\d.])(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<c>\d{4})(?=\d{1,2}:\d{2})"), "dmy"),
    (re.compile(
        rf"(?<![\w])(?P<a>\d{{1,2}})(?:st|nd|rd|th)?[\s\-/.]*(?:of\s+|day\s+of\s+)?(?P<b>{_MONTH_RE})\.?[\s\-/.,]*(?P<c>\d{{4}}|\d{{2}})(?![\d])",
        re.IGNORECASE), "dMy"),
    (re.compile(
        rf"(?<![\w])(?P<a>{_MONTH_RE})\.?[\s\-/.]*(?P<b>\d{{1,2}})(?:st|nd|rd|th)?,?[\s\-/.]*(?P<c>\d{{4}})(?![\d])",
        re.IGNORECASE), "Mdy"),
]


def _year(y: str) -> int:
    v = int(y)
    if len(y) == 2:  # two-digit years: 00-69 -> 2000s, 70-99 -> 1900s (POSIX strptime convention)
        v += 2000 if v < 70 else 1900
    return v


def parse_date(text: str, dayfirst: bool = True) -> str | None:
    """The first date in ``text`` as ISO ``YYYY-MM-DD``; ``None`` if there is none.

    Numeric ``a/b/yyyy`` is read day-first (dd/mm/yyyy) unless only the month-first reading is valid
    or ``dayfirst`` is False.
    """
    m = find_dates(text, dayfirst)
    return m[0][2] if m else None


def find_dates(text: str, dayfirst: bool = True) -> list[tuple[int, int, str]]:
    """Every date in ``text`` as (start, end, iso); overlapping hits keep the earliest pattern's."""
    hits: list[tuple[int, int, str]] = []
    for pat, order in DATE_PATTERNS:
        for m in pat.finditer(text):
            if any(m.start() < e and s < m.end() for s, e, _ in hits):
                continue
            iso = _to_iso(m["a"], m["b"], m["c"], order, dayfirst)
            if iso:
                hits.append((m.start(), m.end(), iso))
    return sorted(hits)


def _to_iso(a: str, b: str, c: str, order: str, dayfirst: bool) -> str | None:
    try:
        if order == "ymd":
            candidates = [(int(a), int(b), int(c))]
        elif order == "dMy":
            candidates = [(_year(c), MONTHS[b.lower()], int(a))]
        elif order == "Mdy":
            candidates = [(_year(c), MONTHS[a.lower()], int(b))]
        else:
            y, x1, x2 = _year(c), int(a), int(b)
            candidates = [(y, x2, x1), (y, x1, x2)] if dayfirst else [(y, x1, x2), (y, x2, x1)]
    except (KeyError, ValueError):
        return None
    for yy, mm, dd in candidates:
        if 1900 <= yy <= 2100:
            try:
                return date(yy, mm, dd).isoformat()
            except ValueError:
                continue
    return None


# ---- money ----

CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "RM": "MYR", "R$": "BRL",
                    "Rs": "INR", "Rs.": "INR", "EURO": "EUR", "Euro": "EUR", "Euros": "EUR"}
CURRENCY_CODES = ("USD", "EUR", "GBP", "MYR", "CHF", "JPY", "CAD", "AUD", "INR", "SGD", "NZD", "SEK", "NOK", "DKK",
                  "PLN", "CZK", "HKD", "CNY", "ZAR", "BRL", "MXN")
_CUR = r"(?:US\$|R\$|RM|Rs\.?|[$€£¥₹]|" + "|".join(CURRENCY_CODES) + r")"
# 1,234.56 | 1.234,56 | 1234.56 | 1 234,56 | 12.50
_NUM = r"(?:\d{1,3}(?:[,.' ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?)"
AMOUNT_RE = re.compile(
    rf"(?<![\w.,])(?:(?P<cur1>{_CUR})\s?)?(?P<neg>-)?(?P<num>{_NUM})(?:\s?(?P<cur2>{_CUR}))?(?![\w]|[.,]\d)"
)


def parse_number(num: str) -> float | None:
    """'1,234.56' / '1.234,56' / '1 234,56' / '12,50' -> float."""
    s = num.replace(" ", "").replace("'", "")
    if not s:
        return None
    last_dot, last_comma = s.rfind("."), s.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        dec = "." if last_dot > last_comma else ","
    elif last_comma >= 0:
        dec = "," if len(s) - last_comma - 1 in (1, 2) else None
    elif last_dot >= 0:
        dec = "." if len(s) - last_dot - 1 in (1, 2) or s.count(".") == 1 and len(s) - last_dot - 1 != 3 else None
    else:
        dec = None
    if dec:
        intpart, _, frac = s.rpartition(dec)
        intpart = re.sub(r"[.,]", "", intpart)
        s = f"{intpart}.{frac}"
    else:
        s = re.sub(r"[.,]", "", s)
    try:
        return float(s)
    except ValueError:
        return None


def currency_code(sym: str | None) -> str | None:
    if not sym:
        return None
    sym = sym.strip()
    if sym == "US$":
        return "USD"
    return CURRENCY_SYMBOLS.get(sym) or (sym.upper() if sym.upper() in CURRENCY_CODES else None)


def money(amount: float, currency: str | None) -> str:
    """Canonical money text: two decimals and the ISO 4217 code, e.g. ``"1234.50 EUR"`` (``"12.00"`` if unknown)."""
    return f"{amount:.2f} {currency}" if currency else f"{amount:.2f}"


def parse_amount(text: str, default_currency: str | None = None) -> dict | None:
    """The first money amount in ``text`` as ``{"amount": float, "currency": code|None}``."""
    for _, _, found in find_amounts(text):
        return {"amount": found["amount"], "currency": found["currency"] or default_currency}
    return None


def find_amounts(text: str) -> list[tuple[int, int, dict]]:
    out = []
    for m in AMOUNT_RE.finditer(text):
        val = parse_number(m["num"])
        if val is None:
            continue
        if m["neg"]:
            val = -val
        out.append((m.start(), m.end(), {"amount": round(val, 2), "currency": currency_code(m["cur1"] or m["cur2"]),
                                         "decimals": bool(re.search(r"[.,]\d{1,2}$", m["num"]))}))
    return out


def detect_currency(text: str) -> str | None:
    """The most frequent currency mentioned in ``text`` (code or symbol)."""
    counts: dict[str, int] = {}
    for m in re.finditer(rf"(?<![A-Za-z]){_CUR}(?![A-Za-z])", text):
        c = currency_code(m.group(0))
        if c:
            counts[c] = counts.get(c, 0) + 1
    return max(counts, key=lambda c: counts[c]) if counts else None


# ---- IBAN and account numbers ----

IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "CH": 21,
    "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "ES": 24, "FI": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25,
    "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29,
    "VG": 24, "XK": 20,
}
# Country code + 2 check digits + up to 30 alphanumerics, optionally in groups of 4 separated by spaces.
IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")


def iban_is_valid(iban: str) -> bool:
    """ISO 13616 check: known country length and mod-97 == 1."""
    s = re.sub(r"\s+", "", iban).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", s):
        return False
    if s[:2] in IBAN_LENGTHS and len(s) != IBAN_LENGTHS[s[:2]]:
        return False
    digits = "".join(str(int(c, 36)) for c in s[4:] + s[:4])
    return int(digits) % 97 == 1


def normalize_iban(iban: str) -> str:
    return re.sub(r"\s+", "", iban).upper()


def find_ibans(text: str) -> list[tuple[int, int, str, bool]]:
    """(start, end, compact IBAN, valid) for each IBAN-shaped string; the longest valid prefix is kept."""
    out = []
    for m in IBAN_RE.finditer(text):
        raw = m.group(0)
        compact = normalize_iban(raw)
        want = IBAN_LENGTHS.get(compact[:2])
        if want and len(compact) > want:
            # the greedy match ran into following text: cut back to the country length
            n, cut = 0, 0
            for i, ch in enumerate(raw):
                if ch != " ":
                    n += 1
                if n == want:
                    cut = i + 1
                    break
            raw, compact = raw[:cut], compact[:want]
        out.append((m.start(), m.start() + len(raw), compact, iban_is_valid(compact)))
    return out


ACCOUNT_RE = re.compile(
    r"(?i)\b(?:account|acct|a/c|konto|compte)\s*(?:no\.?|number|nr\.?|#|num\.?)?\s*[:#.]?\s*(?P<num>[0-9][0-9\- ]{4,22}[0-9])"
)


def find_account_numbers(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in ACCOUNT_RE.finditer(text):
        num = m["num"].strip()
        digits = re.sub(r"\D", "", num)
        if 6 <= len(digits) <= 20:
            out.append((m.start("num"), m.start("num") + len(num), digits))
    return out
