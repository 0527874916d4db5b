"""Layout blocks from an offline model, mapped to the PubLayNet classes text/title/list/table/figure."""

from __future__ import annotations

import abc
import threading
from typing import Callable

import numpy as np
from PIL import Image

from doc_pipeline.core.models import Block

# rapid-layout's pp_layout_cdla classes -> PubLayNet. Captions, references and equations are text blocks in
# PubLayNet's annotation; running headers/footers are not annotated there, so we keep them as text but mark them.
CDLA_TO_PUBLAYNET = {
    "text": "text", "title": "title", "figure": "figure", "figure_caption": "text", "table": "table",
    "table_caption": "text", "header": "text", "footer": "text", "reference": "list", "equation": "text",
}


class LayoutEngine(abc.ABC):
    name = "base"

    @abc.abstractmethod
    def detect(self, image: Image.Image, dpi: int) -> list[Block]:
        """Blocks in PDF points (origin top-left), in reading order."""


class RapidLayoutEngine(LayoutEngine):
    name = "rapid_layout"

    def __init__(self, conf_thresh: float = 0.5):
        from rapid_layout import RapidLayout

        self.model = RapidLayout(conf_thresh=conf_thresh)

    def detect(self, image: Image.Image, dpi: int) -> list[Block]:
        arr = np.asarray(image.convert("RGB"))[:, :, ::-1].copy()
        out = self.model(arr)
        if out.boxes is None or len(out.boxes) == 0:
            return []
        s = 72.0 / dpi
        blocks = [Block(type=CDLA_TO_PUBLAYNET.get(name, "text"), bbox=tuple(round(float(v) * s, 2) for v in box),
                        score=round(float(score), 4))
                  for box, name, score in zip(out.boxes, out.class_names, out.scores)]
        return reading_order(blocks, page_width=image.width * s)


def reading_order(blocks: list[Block], page_width: float) -> list[Block]:
    """Column-aware order: full-width blocks break the page into bands; inside a band, left column first."""
    mid = page_width / 2

    def column(b: Block) -> int:
        x0, _, x1, _ = b.bbox
        if x1 - x0 > page_width * 0.55 or (x0 < mid < x1 and min(mid - x0, x1 - mid) > page_width * 0.1):
            return -1  # spans both columns
        return 0 if (x0 + x1) / 2 < mid else 1

    ordered: list[Block] = []
    band: list[Block] = []
    for b in sorted(blocks, key=lambda b: (b.bbox[1], b.bbox[0])):
        if column(b) == -1:
            ordered.extend(sorted(band, key=lambda b: (column(b), b.bbox[1], b.bbox[0])))
            band = []
            ordered.append(b)
        else:
            band.append(b)
    ordered.extend(sorted(band, key=lambda b: (column(b), b.bbox[1], b.bbox[0])))
    return [b.model_copy(update={"order": i}) for i, b in enumerate(ordered)]


_FACTORIES: dict[str, Callable[[], LayoutEngine]] = {"rapid_layout": RapidLayoutEngine}
_INSTANCES: dict[tuple[str, int], LayoutEngine] = {}
_LOCK = threading.Lock()


def register_layout_engine(name: str, factory: Callable[[], LayoutEngine]) -> None:
    _FACTORIES[name] = factory


def get_layout_engine(name: str = "rapid_layout") -> LayoutEngine:
    if name not in _FACTORIES:
        raise ValueError(f"unknown layout engine {name!r}; known: {sorted(_FACTORIES)}")
    key = (name, threading.get_ident())
    with _LOCK:
        if key not in _INSTANCES:
            _INSTANCES[key] = _FACTORIES[name]()
        return _INSTANCES[key]
