"""Contract fields: parties (multi-valued), effective date, governing-law jurisdiction, term.

General legal-drafting patterns ("by and between X and Y", "effective as of", "governed by the laws of the State
of X", "for a period of two (2) years"), plus the spaCy EntityRuler gazetteer for place names.
"""

from __future__ import annotations

import re

from .candidates import Candidate
from .layout_text import DocText
from .ner import rule_nlp
from .normalize import find_dates

I = re.IGNORECASE
_SUFFIX = (r"(?:Inc|Incorporated|LLC|L\.\s?L\.\s?C|Corporation|Corp|Company|Co|Ltd|Limited|L\.\s?P|LP|LLP|plc|PLC|N\.A|"
           r"AG|GmbH|S\.A|SA|B\.V|BV|N\.V|A/S|AB|SE|Bancorp|Trust|Group|Holdings?|Partners|Bank|"
           r"INC|INCORPORATED|CORPORATION|CORP|COMPANY|LIMITED|LTD|BANCORP|TRUST|GROUP|HOLDINGS?|PARTNERS|BANK)")
_NAMEWORD = r"(?:[A-Z0-9][\w&'’.\-]*|of|the|&|de|and(?=\s+[A-Z][\w]*\s*,?\s*" + _SUFFIX + r"))"
_FIRSTWORD = r"(?:[A-Z0-9][\w&'’.\-]*)"
# a name: capitalised first word, up to 7 more words, a corporate suffix, optionally a second one ("Group, Inc.")
ORG_RE = re.compile(rf"(?<![\w])({_FIRSTWORD}(?:\s+{_NAMEWORD}){{0,7}}?,?\s+{_SUFFIX}\b\.?"
                    rf"(?:,?\s+(?:Inc|LLC|L\.L\.C|Ltd|Corp|L\.P|LP|N\.A|plc)\b\.?)?)")
_GENERIC = {"the", "company", "corporation", "confidential", "information", "agreement", "disclosure", "evaluation",
            "material", "purchase", "proprietary", "party", "parties", "of", "and", "&", "bank", "group", "trust",
            "services", "united", "states", "duties", "section", "exhibit", "recipient", "inc", "llc", "corp"}
PERSON_RE = re.compile(r"(?<![\w])((?:Mr\.|Ms\.|Mrs\.|Dr\.)?\s?(?:[A-Z]\.\s)?[A-Z][a-z]+(?:\s+[A-Z]\.)?(?:\s+[A-Z][a-z'’\-]+){1,2}"
                       r"(?:,?\s+(?:Jr\.|Sr\.|II|III|IV))?)(?=\s*(?:\(|,\s*an\s+individual|,\s*residing|,\s*\(|"
                       r",\s*having\s+an\s+address))"
                       # the same in capitals ("JOHN D. THOMAS (“Recipient”)")
                       r"|(?<![\w])([A-Z]{2,}(?:\s+[A-Z]\.)?(?:\s+[A-Z][A-Z'’\-]+){1,2}(?:,?\s+(?:JR\.|SR\.|II|III|IV))?)"
                       r"(?=\s*(?:\(|,\s*an\s+individual|,\s*residing))")
_NOT_PERSON_WORDS = {"agreement", "release", "warrant", "purchase", "stock", "license", "sublicense", "general",
                     "mutual", "common", "amended", "restated", "settlement", "services", "confidential",
                     "nondisclosure", "non-disclosure", "company", "corporation", "plan", "letter", "amendment",
                     "employment", "separation", "consulting", "addendum", "exhibit", "schedule", "section",
                     "effective", "date", "party", "parties", "statement", "notice", "holdings", "group", "trust",
                     "fund", "capital", "partners", "management", "securities", "bank", "university", "county",
                     "state", "district", "court", "board", "committee", "association", "foundation"}
INTRO_RE = re.compile(r"\b(?:by\s+and\s+(?:between|among)|between|among|entered\s+into\s+by)\b", I)
_NOT_PARTY = re.compile(r"(?i)^(?:the\s+)?(?:company|party|parties|agreement|confidential|exhibit|section|state|"
                        r"recipient|discloser|disclosing|receiving|effective|schedule|form|this|each|either)\b")

NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                "ten": 10, "eleven": 11, "twelve": 12, "eighteen": 18, "twenty-four": 24, "thirty-six": 36,
                "twenty four": 24, "thirty six": 36, "fifteen": 15, "twenty": 20, "thirty": 30, "sixty": 60,
                "ninety": 90}
TERM_RE = re.compile(
    r"(?:period|term)\s+of\s+(?:(?P<w>[a-z]+(?:[\- ][a-z]+)?)\s*)?(?:\(\s*(?P<n>\d+)\s*\)|(?P<n2>\d+))?\s*"
    r"(?P<u>years?|months?|weeks?|days?)\b", I)
TERM_LOOSE_RE = re.compile(
    r"(?:(?P<w>[a-z]+(?:[\- ][a-z]+)?)\s*)?(?:\(\s*(?P<n>\d+)\s*\)|(?P<n2>\d+))?\s*(?P<u>years?|months?)\s+"
    r"(?:from|after|following)\s+(?:the\s+)?(?:effective\s+date|date\s+(?:hereof|of\s+this))", I)
TERM_VERB_RE = re.compile(  # "expires ten years from ...", "continuing for three (3) years thereafter"
    r"(?:expir(?:e|es|ed|ing)|continu\w*|remain\w*\s+in\s+(?:full\s+)?(?:force|effect)|in\s+effect)\s+(?:for\s+)?"
    r"(?:a\s+(?:period|term)\s+of\s+)?(?P<w>[a-z]+(?:[\- ][a-z]+)?)?\s*(?:\(\s*(?P<n>\d+)\s*\)|(?P<n2>\d+))?\s*"
    r"(?P<u>years?|months?)\b", I)
EFFECTIVE_RE = re.compile(
    r"(?:effective\s+(?:as\s+of|on|from|date)|dated\s+(?:as\s+of\s+)?|entered\s+into\s+(?:as\s+of|on)|"
    r"made\s+(?:and\s+entered\s+into\s+)?(?:as\s+of|on|this)|as\s+of)", I)
GOV_LAW_RE = re.compile(r"(?:governed\s+by|construed|interpreted|laws?\s+of|jurisdiction\s+of|courts?\s+of)", I)


def _clean_party(name: str) -> str:
    """Kleister-style party text: no commas, L.L.C. -> LLC, collapsed spaces, no leading 'the'."""
    s = re.sub(r"\s+", " ", name).strip(" ,;:")
    s = re.sub(r"(?i)\bL\.\s?L\.\s?C\.?", "LLC", s)
    s = re.sub(r"(?i)\bL\.\s?P\.?$", "LP", s)
    s = s.replace(",", "")
    s = re.sub(r"\.\s+(?=(?:Inc|LLC|Ltd|Corp|Corporation|Company|INC|LLC|LTD|CORP)\b)", " ", s)
    s = re.sub(r"(?i)^(?:the|and)\s+", "", s)
    s = re.sub(r"^(?:Dear|To|Attention:?|Re:?)\s+", "", s)  # a letter's salutation before the addressee
    return s


def parties(doc: DocText) -> list[Candidate]:
    text = doc.text
    out: list[Candidate] = []
    seen: set[str] = set()
    for m in list(INTRO_RE.finditer(text[:15000]))[:3]:
        out += _parties_after(text, m.end(), seen, len(out))
        if len(out) >= 2:
            break
    if not out:  # letter agreements and one-sided undertakings name the parties without "between"
        out = _parties_opening(text, seen)
    return out


_SIGNER_RE = re.compile(r"\bI,\s+((?:[A-Z][a-z]+|[A-Z]\.)(?:\s+(?:[A-Z]\.|[A-Z][a-z'’\-]+)){1,3}),")


def _parties_opening(text: str, seen: set[str], limit: int = 1500) -> list[Candidate]:
    """Organisations named in the opening text (the addressee of a letter, "X, Inc. (the “Company”)") and an
    individual signing in the first person ("I, Jane Doe, ..."), at most two, outside parentheses."""
    window = text[:limit]
    hits = [(m.start(1), m.end(1), m.group(1)) for m in ORG_RE.finditer(window)]
    hits += [(m.start(1), m.end(1), m.group(1)) for m in _SIGNER_RE.finditer(window)]
    out: list[Candidate] = []
    for s, e, raw in sorted(hits):
        if "\n" in raw.strip():  # a name does not start on the line above ("November 6, 2009\nHID Global ...")
            cut = raw.rfind("\n") + 1
            if not ORG_RE.fullmatch(raw[cut:]):
                continue
            s, raw = s + cut, raw[cut:]
        before = window[:s]
        if before.count("(") > before.count(")") or before.count("“") > before.count("”"):
            continue
        val = _clean_party(raw)
        words = [w.strip(".,’'").lower() for w in val.split()]
        if (len(val) < 3 or _NOT_PARTY.match(val) or val.lower() in seen or all(w in _GENERIC for w in words)
                or re.search(r"\.\s+[a-z\d]|\d\.\d", val)):
            continue
        seen.add(val.lower())
        out.append(Candidate("parties", val, val, s, e, label=False, prior=0.5 - 0.05 * len(out)))
        if len(out) >= 2:
            break
    return out


def _parties_after(text: str, start: int, seen: set[str], n_before: int) -> list[Candidate]:
    out: list[Candidate] = []
    window = text[start:start + 900]
    stop = re.search(r"\.\s*\n|WHEREAS|\bRECITALS\b|\n\s*1\.\s", window)
    if stop:
        window = window[:stop.start()]
    hits: list[tuple[int, int, str, float]] = []
    for om in ORG_RE.finditer(window):
        hits.append((om.start(1), om.end(1), om.group(1), 0.75))
    for pm in PERSON_RE.finditer(window):
        g = 1 if pm.group(1) else 2
        if any(w.lower().strip(".,") in _NOT_PERSON_WORDS for w in pm.group(g).split()):
            continue  # "Mutual General Release (“Settlement Agreement”)": a defined document, not a person
        hits.append((pm.start(g), pm.end(g), pm.group(g), 0.55))
    hits.sort()
    for s, e, raw, prior in hits:
        # names inside parentheses are defined terms or affiliates ("(collectively, “Liquidmetal”)"), not parties
        before = window[:s]
        if before.count("(") > before.count(")") or before.count("“") > before.count("”"):
            continue
        # skip text after "on behalf of"/"other than"/"subsidiaries" qualifiers (affiliates, not parties)
        if re.search(r"(?i)(other than|behalf of|affiliates?|subsidiar\w+|including)\s*$", before[-40:]):
            continue
        val = _clean_party(raw)
        words = [w.strip(".,’'").lower() for w in val.split()]
        if (len(val) < 3 or _NOT_PARTY.match(val) or val.lower() in seen or all(w in _GENERIC for w in words)
                or re.search(r"\.\s+[a-z\d]|\d\.\d", val)):
            continue
        seen.add(val.lower())
        out.append(Candidate("parties", val, val, start + s, start + e, label=True,
                             prior=prior - 0.05 * (len(out) + n_before)))
        if len(out) >= 4:
            break
    return out


def effective_date(doc: DocText) -> list[Candidate]:
    text = doc.text[:20000]
    out: list[Candidate] = []
    for m in EFFECTIVE_RE.finditer(text):
        seg = text[m.end(): m.end() + 60]
        hits = find_dates(seg, dayfirst=False)
        if hits and hits[0][0] < 25:
            s, e, iso = hits[0]
            prior = 0.85
            if m.end() + s < 2500 and re.match(r"\s*,?\s*\(\s*(?:the|this)?\s*[“\"']?effective\s+date",
                                                 seg[e:e + 40], I):
                prior = 0.97  # the opening paragraph defines this date as "the Effective Date"
            elif m.group(0).lower().startswith("effective"):
                prior = 0.9
            out.append(Candidate("effective_date", seg[s:e], iso, m.end() + s, m.end() + e, label=True, prior=prior))
    if not out:  # the first date of the opening paragraph is usually the agreement's date
        hits = find_dates(text[:2500], dayfirst=False)
        if hits:
            s, e, iso = hits[0]
            out.append(Candidate("effective_date", text[s:e], iso, s, e, label=False, prior=0.4))
    return out


def jurisdiction(doc: DocText) -> list[Candidate]:
    text = doc.text
    nlp = rule_nlp()
    out: list[Candidate] = []
    for m in re.finditer(r"governed\s+by|governing\s+law|construed\s+(?:and\s+enforced\s+)?in\s+accordance", text, I):
        seg = text[m.end(): m.end() + 160]
        sd = nlp(seg)
        for ent in sd.ents:
            if ent.label_ == "GPE":
                val = ent.text
                out.append(Candidate("jurisdiction", val, val, m.end() + ent.start_char, m.end() + ent.end_char,
                                     label=True, prior=0.9))
                break
    if not out:
        for m in re.finditer(r"laws\s+of\s+(?:the\s+)?(?:State|Commonwealth)\s+of", text, I):
            sd = nlp(text[m.end(): m.end() + 40])
            for ent in sd.ents:
                out.append(Candidate("jurisdiction", ent.text, ent.text, m.end() + ent.start_char,
                                     m.end() + ent.end_char, label=True, prior=0.6))
                break
    return out


def _duration(w: str | None, n: str | None, unit: str) -> tuple[str, str] | None:
    num = int(n) if n else NUMBER_WORDS.get((w or "").lower().replace("-", " ").strip())
    if num is None and w:
        num = NUMBER_WORDS.get(w.lower().split()[-1])
    if not num:
        return None
    u = unit.lower().rstrip("s")
    code = {"year": "Y", "month": "M", "week": "W", "day": "D"}[u]
    return f"{num} {u}{'s' if num != 1 else ''}", f"P{num}{code}"


def term(doc: DocText) -> list[Candidate]:
    text = doc.text
    out: list[Candidate] = []
    for rx, prior in ((TERM_RE, 0.7), (TERM_LOOSE_RE, 0.6), (TERM_VERB_RE, 0.65)):
        for m in rx.finditer(text):
            d = _duration(m["w"], m["n"] or m["n2"], m["u"])
            if not d:
                continue
            ctx = text[max(0, m.start() - 200): m.end() + 100].lower()
            near = text[max(0, m.start() - 120): m.end() + 80].lower()
            # the agreement's own term, not a notice period, a survival clause or a post-employment restriction
            p = prior + (0.15 if re.search(r"\bterm\b|terminat|expire|remain in (full )?(force|effect)", ctx) else 0)
            p -= 0.2 if re.search(r"notice|surviv|non-?solicit|hire|employ", ctx) else 0
            if re.search(r"(?:after|following|from)\s+(?:the\s+|such\s+)?(?:termination|expiration|cessation)|"
                         r"during\s+(?:the\s+term|[\w’']+\s+employment)[^.]{0,40}thereafter|non-?compet|"
                         r"restricted\s+period", near):
                p -= 0.2
            if d[1].endswith("D") or d[1].endswith("W"):
                p -= 0.2
            if p < 0.6:  # a bare duration somewhere in the text is rarely the agreement's term
                continue
            out.append(Candidate("term", d[0], d[1], m.start(), m.end(), label=True, prior=max(0.1, p)))
    return out


def contract(doc: DocText) -> list[Candidate]:
    return parties(doc) + effective_date(doc) + jurisdiction(doc) + term(doc)
