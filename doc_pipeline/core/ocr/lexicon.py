"""Lexicon check for PP-OCR words: a word that is not in the dictionary but becomes one by undoing a single
visual confusion (`Arnount` -> `Amount`, `Totai` -> `Total`, `CO0K` -> `COOK`, `retum` -> `return`) is respelled.

PP-OCR's recogniser (trained mostly on Chinese) reads Latin text without a language model, so it confuses glyphs
that look alike (`rn`/`m`, `l`/`i`/`1`, `0`/`o`, `c`/`e`) and is just as sure of the wrong reading (its character
scores are ~1.0 on `Arnount`), so confidence cannot tell which words to check. The dictionary is Tesseract's own
English word list (the LSTM word DAWG in `eng.traineddata`, ~338k words incl. `QTY`, `RM`, `TEL`), read once per
process, so no extra data ships with the pipeline; without Tesseract's data the check is skipped.

Conservative by construction: only letter words of 4+ characters that are *not* in the dictionary are touched, only
one substitution from a short list of look-alikes is tried, the candidate must be unique, digits are replaced only
inside a word (`FACS1MILE`) or as a leading `0` (`0ff`), never a trailing digit (`Page1`, `SS21`), and a spelling the
page repeats (`WAHIN` in a shop's name and its cashier line) is taken as a name and kept.
"""

from __future__ import annotations

import re
import struct
import threading
import unicodedata
from collections import Counter
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from doc_pipeline.core.ocr.base import OcrWord

# pairs of glyph sequences PP-OCR confuses (both directions): measured on SROIE / FUNSD misreads
LOOKALIKES = (("1", "l"), ("1", "i"), ("l", "i"), ("0", "o"), ("c", "e"), ("c", "o"), ("e", "o"), ("c", "g"),
              ("q", "g"), ("rn", "m"), ("ni", "m"), ("ii", "u"), ("5", "s"), ("v", "y"), ("h", "n"))
MIN_LEN = 4  # shorter words (`JLN`, `SDN`, `BHD`) are too often abbreviations one look-alike away from a word
# (3 letters do where a digit stands among them: `0ff` is no abbreviation)

_SWAPS: dict[str, set[str]] = {}
for _a, _b in LOOKALIKES:
    _SWAPS.setdefault(_a, set()).add(_b)
    _SWAPS.setdefault(_b, set()).add(_a)

# Tesseract's traineddata components (tessdata_manager's TessdataType)
_LSTM_SYSTEM_DAWG, _LSTM_UNICHARSET = 19, 21
_DAWG_MAGIC = 42


def traineddata_components(data: bytes) -> dict[int, bytes]:
    """The components of a Tesseract .traineddata file: int32 count, int64 offsets (-1 = absent), the data."""
    (n,) = struct.unpack_from("<i", data, 0)
    offsets = struct.unpack_from(f"<{n}q", data, 4)
    present = sorted(o for o in offsets if o >= 0)
    out = {}
    for i, o in enumerate(offsets):
        if o >= 0:
            end = next((p for p in present if p > o), len(data))
            out[i] = data[o:end]
    return out


def unicharset_chars(data: bytes) -> list[str]:
    """Unichar id -> text from a unicharset file (first line: count; then one `<text> <properties...>` a line)."""
    lines = data.decode("utf-8").split("\n")
    chars = []
    for line in lines[1:int(lines[0]) + 1]:
        text = line.split(" ", 1)[0]
        chars.append(" " if text == "NULL" else text)
    return chars


def dawg_words(data: bytes, chars: list[str]) -> list[str]:
    """All words of a squished DAWG (Tesseract's SquishedDawg: int16 magic, int32 unicharset size, int32 edge
    count, uint64 edges; an edge holds the unichar id in its low bits, then 3 flags - last edge of its node,
    backward, word end - then the index of the node it leads to, a node being the index of its first edge)."""
    magic, size, num = struct.unpack_from("<hii", data, 0)
    if magic != _DAWG_MAGIC:
        raise ValueError("not a squished DAWG")
    edges = struct.unpack_from(f"<{num}Q", data, 10)
    flag_bit = (size).bit_length() if size > 0 else 0  # ceil(log2(size + 1))
    letter_mask = (1 << flag_bit) - 1
    words, stack = [], [(0, "")]
    while stack:
        node, prefix = stack.pop()
        e = node
        while e < num:
            edge = edges[e]
            flags = (edge >> flag_bit) & 7
            if not flags & 2:  # forward edge
                word = prefix + chars[edge & letter_mask]
                if flags & 4:
                    words.append(word)
                nxt = edge >> (flag_bit + 3)
                if nxt:
                    stack.append((nxt, word))
            if flags & 1:  # last edge of this node
                break
            e += 1
    return words


_LOCK = threading.Lock()


@lru_cache(maxsize=4)
def _load(path: str) -> frozenset[str]:
    """The casefolded word list of a .traineddata file. Walking its DAWG in Python takes ~1.4 CPU s, so the list is
    kept as text beside the compiled models (inference.model_cache_dir), keyed by the file's SHA-256: later
    processes read it in ~0.04 s (each run process and each benchmark home needs it once)."""
    import hashlib
    import os

    from doc_pipeline.core.inference import model_cache_dir

    data = Path(path).read_bytes()
    folder = model_cache_dir()
    cached = folder / f"lexicon-{hashlib.sha256(data).hexdigest()[:32]}.txt" if folder is not None else None
    if cached is not None and cached.is_file():
        try:
            return frozenset(cached.read_text(encoding="utf-8").split("\n")) - {""}
        except (OSError, UnicodeDecodeError):
            pass  # unreadable: decode the DAWG again below
    parts = traineddata_components(data)
    if _LSTM_SYSTEM_DAWG not in parts or _LSTM_UNICHARSET not in parts:
        return frozenset()
    words = dawg_words(parts[_LSTM_SYSTEM_DAWG], unicharset_chars(parts[_LSTM_UNICHARSET]))
    lexicon = frozenset(w.casefold() for w in words if "\n" not in w)
    if cached is not None:
        tmp = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
        try:  # written whole and renamed: a process reading at the same time never sees half a list
            tmp.write_text("\n".join(sorted(lexicon)), encoding="utf-8")
            os.replace(tmp, cached)
        except OSError:
            tmp.unlink(missing_ok=True)
    return lexicon


def tesseract_lexicon(lang: str = "eng", tessdata: str | None = None) -> frozenset[str]:
    """Tesseract's word list for `lang`, casefolded (empty when its data is not installed). ~40 MB, once per process
    (0.04 s from the host's cache, ~1.4 s the first time: _load)."""
    from doc_pipeline.core.ocr.tesseract import find_tessdata

    try:
        path = str(Path(find_tessdata(tessdata)) / f"{lang}.traineddata")
    except RuntimeError:
        return frozenset()
    with _LOCK:
        try:
            return _load(path)
        except (OSError, ValueError, struct.error, UnicodeDecodeError, IndexError):
            return frozenset()


_CORE = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)


def word_core(text: str) -> str:
    """A word without its leading / trailing punctuation, casefolded (`Amount:` -> `amount`)."""
    return _CORE.match(text).group(2).casefold()


def _one_swap(word: str) -> set[str]:
    out = set()
    for i in range(len(word)):
        for k in (1, 2):
            for dst in _SWAPS.get(word[i:i + k], ()):
                out.add(word[:i] + dst + word[i + k:])
    return out


def digits_ok(word: str) -> bool:
    """Digits may only be look-alikes inside letters (`FACS1MILE`, `CO0K`) or a leading 0 (`0ff`)."""
    for i, c in enumerate(word):
        if c.isdigit():
            inside = 0 < i < len(word) - 1 and word[i - 1].isalpha() and word[i + 1].isalpha()
            lead = i == 0 and c == "0" and len(word) > 1 and word[1].isalpha()
            if not (inside or lead):
                return False
    return True


def _same_case(template: str, word: str) -> str:
    letters = [c for c in template if c.isalpha()]
    if letters and sum(c.isupper() for c in letters) * 2 >= len(letters) and len(letters) > 1:
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def without_marks(text: str) -> str:
    """`text` with its diacritics dropped (`Prépared` -> `Prepared`); letters without a decomposition stay."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def correct_word(text: str, lexicon: frozenset[str] | set[str], keep: set[str] = frozenset()) -> str:
    """`text` respelled by one look-alike substitution when it is not a dictionary word and exactly one
    substitution makes it one; leading / trailing punctuation is kept (`Cashler#:` is looked up as `Cashler`).
    `keep`: casefolded spellings to leave alone (the page's repeated words)."""
    lead, core, trail = _CORE.match(text).groups()
    low = core.casefold()
    if not low.isascii() and low not in lexicon and low not in keep:
        plain = without_marks(core)
        if plain != core and plain.casefold() in lexicon:  # `NOTÉ`, `Prépared`, `mentiòn`: PP-OCR's stray accents
            return lead + plain + trail
    digits = any(c.isdigit() for c in low)  # a digit among letters is a misread, however often the page has it
    if (len(low) < (3 if digits else MIN_LEN) or low in lexicon or (low in keep and not digits)
            or not re.fullmatch(r"[a-z015]+", low) or sum(c.isalpha() for c in low) < 2 or not digits_ok(low)):
        return text
    hits = [w for w in _one_swap(low) if w.isalpha() and w in lexicon]
    if len(hits) != 1:
        return text
    return lead + _same_case(core, hits[0]) + trail


def correct_lines(lines: list[list[OcrWord]], lexicon: frozenset[str] | set[str]) -> list[list[OcrWord]]:
    """`correct_word` on every word of a page's lines; a spelling the page has twice or more is kept."""
    if not lexicon:
        return lines
    counts = Counter(word_core(w.text) for line in lines for w in line)
    keep = {k for k, n in counts.items() if n >= 2}
    out = []
    for line in lines:
        new = []
        for w in line:
            t = correct_word(w.text, lexicon, keep)
            new.append(w if t == w.text else replace(w, text=t))
        out.append(new)
    return out
