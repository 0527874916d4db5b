"""Masking of sensitive identifiers (IBANs, account numbers) for roles that may not see them, for the search
index and for logs. Only the last 4 characters stay visible, so a person can still tell accounts apart."""

from __future__ import annotations

import re
from collections.abc import Iterable

from doc_pipeline.core.fields.normalize import ACCOUNT_RE, IBAN_RE, iban_is_valid
from doc_pipeline.core.fields.schema import SENSITIVE_FIELDS
from doc_pipeline.core.models import ExtractedField, Word

MASK_CHAR = "*"
DEFAULT_UNMASKED_ROLES = frozenset({"admin"})
# long digit runs that look like account/card numbers when written without a label (12-20 digits, spaces/dashes)
_LONG_DIGITS_RE = re.compile(r"(?<![\w.,])\d(?:[ \-]?\d){11,19}(?![\w]|[.,]\d)")


def mask_value(name: str, value: str, visible: int = 4) -> str:
    """Mask every letter/digit but the last ``visible`` ones, keeping separators (``DE89 **** ... 3000``).

    ``name`` is the field name; values of non-sensitive fields come back unchanged.
    """
    if value is None or name not in SENSITIVE_FIELDS:
        return value
    return _mask(str(value), visible)


def _mask(text: str, visible: int = 4) -> str:
    alnum_positions = [i for i, ch in enumerate(text) if ch.isalnum()]
    keep = set(alnum_positions[-visible:]) if visible > 0 else set()
    return "".join(ch if (not ch.isalnum() or i in keep) else MASK_CHAR for i, ch in enumerate(text))


def unmasked_roles() -> frozenset[str]:
    """Roles allowed to see sensitive values: admin plus DOCPIPE_UNMASKED_ROLES (comma-separated) if set."""
    try:
        from doc_pipeline.settings import get_settings

        extra = getattr(get_settings(), "unmasked_roles", "") or ""
    except Exception:  # settings unavailable (e.g. invalid env) must not unmask anything
        extra = ""
    if isinstance(extra, str):
        extra = [r.strip() for r in extra.split(",")]
    return DEFAULT_UNMASKED_ROLES | {r for r in extra if r}


def mask_fields(fields: Iterable[ExtractedField], role: str | None,
                allowed_roles: Iterable[str] | None = None) -> list[ExtractedField]:
    """Copies of ``fields``; sensitive ones get masked value/normalized/evidence unless ``role`` is allowed."""
    allowed = frozenset(allowed_roles) if allowed_roles is not None else unmasked_roles()
    out = []
    for f in fields:
        if role in allowed or f.name not in SENSITIVE_FIELDS:
            out.append(f.model_copy(deep=True))
            continue
        norm = _mask(str(f.normalized)) if f.normalized not in (None, "") else f.normalized
        out.append(f.model_copy(update={"value": _mask(f.value), "normalized": norm,
                                        "evidence": mask_text(f.evidence)}, deep=True))
    return out


def mask_text(text: str) -> str:
    """Mask IBANs (checksum-valid), labelled account numbers and long digit runs in free text."""
    if not text:
        return text

    def _iban(m: re.Match[str]) -> str:
        return _mask(m.group(0)) if iban_is_valid(m.group(0)) else m.group(0)

    text = IBAN_RE.sub(_iban, text)
    text = ACCOUNT_RE.sub(lambda m: m.group(0)[: m.start("num") - m.start()] + _mask(m.group("num")), text)
    return _LONG_DIGITS_RE.sub(lambda m: _mask(m.group(0)), text)


def mask_words(words: list[Word]) -> list[Word]:
    """Mask words line by line, so that a number split over several words ("DE89 3704 0044 ...") is found: the
    line is masked as text and every word takes its masked characters back."""
    out: list[Word] = []
    i = 0
    while i < len(words):
        j = i
        while j < len(words) and (words[j].block, words[j].line) == (words[i].block, words[i].line):
            j += 1
        line = words[i:j]
        joined = " ".join(w.text for w in line)
        masked = mask_text(joined)
        pos = 0
        for w in line:
            piece = masked[pos:pos + len(w.text)]
            out.append(w if piece == w.text else w.model_copy(update={"text": piece}))
            pos += len(w.text) + 1
        i = j
    return out
