from __future__ import annotations

import abc
import re
import threading
from dataclasses import dataclass, replace
from typing import Callable

from PIL import Image

from doc_pipeline.core.models import Word
from doc_pipeline.core.registry import EngineRegistry


@dataclass
class OcrWord:
    text: str
    box_px: tuple[int, int, int, int]  # x0, y0, x1, y1 in image pixels
    conf: float  # 0..1
    line: int = 0
    block: int = 0
    in_dictionary: bool | None = None  # Tesseract: the word is in its language's dictionary (None: not known)


def words_box(words: list[OcrWord]) -> tuple[int, int, int, int]:
    """The box around some words, in page pixels."""
    return (min(w.box_px[0] for w in words), min(w.box_px[1] for w in words),
            max(w.box_px[2] for w in words), max(w.box_px[3] for w in words))


ORNAMENT_RUN = 5  # this many identical symbols in a row are a rule or an ornament, not text


def strip_ornaments(text: str, min_run: int = ORNAMENT_RUN) -> tuple[str, int, int]:
    """A word without the rules and ornaments printed with it: a run of `min_run` or more identical symbols
    (neither letter, digit nor space) that makes up the whole word or stands at its start or end
    (`*******************` under a total, `********THANK` in a banner, `Total.........`) is drawn decoration;
    the ground truths of receipts and forms leave it out, and every `*` of it would count as a word. Shorter runs
    (`**** THANK YOU ****`, `(*)`, `3.30 *`) stay: they are printed as part of the text, and so do underscores
    (`NAME ________` is a blank to fill in, a form cue for fields/classify.py). Returns the text left and how
    many characters were cut at the start and at the end."""
    def run_len(chars: str) -> int:
        if not chars or chars[0].isalnum() or chars[0].isspace() or chars[0] == "_":
            return 0
        return len(chars) - len(chars.lstrip(chars[0]))

    head = run_len(text)
    if head >= len(text):
        return ("", len(text), 0) if head >= min_run else (text, 0, 0)
    tail = run_len(text[::-1])
    head = head if head >= min_run else 0
    tail = tail if tail >= min_run else 0
    return text[head:len(text) - tail], head, tail


def without_ornaments(words: list[OcrWord], min_run: int = ORNAMENT_RUN) -> list[OcrWord]:
    """`strip_ornaments` on every word: the box shrinks by the share of characters cut, words that were all
    decoration are dropped."""
    out = []
    for w in words:
        text, head, tail = strip_ornaments(w.text, min_run)
        if not text:
            continue
        if head or tail:
            x0, y0, x1, y1 = w.box_px
            per = (x1 - x0) / max(1, len(w.text))
            w = replace(w, text=text, box_px=(int(x0 + head * per), y0, int(round(x1 - tail * per)), y1))
        out.append(w)
    return out


_JOINING_UNDERSCORES = re.compile(r"(?<!_)_{1,2}(?!_)")


def split_underlines(text: str) -> list[str]:
    """The words of a reading that joined them with the underline they were written on: on a form, PP-OCR reads
    the rule under filled-in text as `_` in place of the spaces (`North_DIVISION`, `_we_could`, `on_12-13-89`).
    One or two underscores inside a word split it, and at its start they are dropped. They stay between two
    digits (`095_01/03124` is a receipt number) and at a word's end (`STUDY NAME_`: a blank to fill in, a form
    cue for fields/classify.py), and so do longer runs (`NAME ________`) and e-mail or web addresses."""
    if "_" not in text or "@" in text or "www." in text.casefold() or "://" in text:
        return [text]
    out, last = [], 0
    for m in _JOINING_UNDERSCORES.finditer(text):
        a, b = m.start(), m.end()
        if b == len(text) or (text[a - 1:a].isdigit() and text[b:b + 1].isdigit()):
            continue
        out.append(text[last:a])
        last = b
    out.append(text[last:])
    return [t for t in out if t] or [text]


BALLOT_BOX = "\u2610"  # ☐
# white squares an engine returns for a form's empty checkbox: U+25A1 □, U+25A2 ▢, U+25FB ◻, U+2B1C ⬜
_BOX_LOOKALIKES = {ord(c): BALLOT_BOX for c in "\u25a1\u25a2\u25fb\u2b1c"}


def ballot_boxes(text: str) -> str:
    """White squares written as the ballot box `☐` (U+2610), the character of a form's empty checkbox: PP-OCR
    reads one as `□` (U+25A1)."""
    return text.translate(_BOX_LOOKALIKES)


def split_boxes(text: str) -> list[str]:
    """A checkbox `☐` as a word of its own: PP-OCR joins it to the label beside it (`NO□`, `□12`, `OTHER□`)."""
    if BALLOT_BOX not in text or text == BALLOT_BOX:
        return [text]
    return [t for t in re.split(f"({BALLOT_BOX})", text) if t]


def split_words(words: list[OcrWord], split: Callable[[str], list[str]]) -> list[OcrWord]:
    """`split` on every word (text -> its words); the pieces share the word's box in proportion to their
    characters (each piece must be a substring of the word, in order)."""
    out = []
    for w in words:
        parts = split(w.text)
        if len(parts) == 1:
            out.append(w if parts[0] == w.text else replace(w, text=parts[0]))
            continue
        x0, y0, x1, y1 = w.box_px
        per = (x1 - x0) / max(1, len(w.text))
        pos = 0
        for part in parts:
            start = w.text.index(part, pos)
            pos = start + len(part)
            out.append(replace(w, text=part, box_px=(int(x0 + start * per), y0, int(round(x0 + pos * per)), y1)))
    return out


def without_underlines(words: list[OcrWord]) -> list[OcrWord]:
    """`split_underlines` on every word; the pieces share the word's box in proportion to their characters."""
    return split_words(words, split_underlines)


def mean_word_conf(words: list[OcrWord]) -> float:
    """Mean word confidence of a reading (0 when nothing was read)."""
    return sum(w.conf for w in words) / len(words) if words else 0.0


class OcrEngine(abc.ABC):
    """Recognise the words on a page image. Implementations are created once per process and reused
    (model loading is the expensive part)."""

    name = "base"

    @abc.abstractmethod
    def recognize(self, image: Image.Image, dpi: int) -> list[OcrWord]: ...

    def version(self) -> str:
        return ""


def words_to_points(words: list[OcrWord], dpi: int) -> list[Word]:
    s = 72.0 / dpi
    return [Word(text=w.text, bbox=tuple(round(v * s, 2) for v in w.box_px), conf=max(0.0, min(1.0, w.conf)),
                 line=w.line, block=w.block) for w in words]


ENGINES: EngineRegistry[OcrEngine] = EngineRegistry("OCR")


def register_engine(name: str):
    def deco(factory):
        return ENGINES.register(name, factory)

    return deco


def get_engine(name: str, **options) -> OcrEngine:
    """One engine instance per (name, options, thread): Tesseract handles are not thread-safe."""
    from doc_pipeline.core.ocr import auto, fusion, rapid, tesseract  # noqa: F401 - registers the built-in engines

    return ENGINES.get(name, **options)
