from __future__ import annotations

import abc
import threading
from dataclasses import dataclass
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
