"""Layout blocks from an offline model, mapped to the PubLayNet classes text/title/list/table/figure."""

from __future__ import annotations

import abc
import threading
from typing import Callable

import numpy as np
from PIL import Image

from doc_pipeline.core.models import Block
from doc_pipeline.core.registry import EngineRegistry

# rapid-layout's pp_layout_cdla classes -> PubLayNet. Captions and equations are text blocks in PubLayNet's
# annotation; running headers/footers are not annotated there, so they keep their own type (header/footer),
# which consumers may use or ignore.
CDLA_TO_PUBLAYNET = {
    "text": "text", "title": "title", "figure": "figure", "figure_caption": "text", "table": "table",
    "table_caption": "text", "header": "header", "footer": "footer", "reference": "list", "equation": "text",
}
CAPTIONS = frozenset({"figure_caption", "table_caption"})


class LayoutEngine(abc.ABC):
    name = "base"

    @abc.abstractmethod
    def detect(self, image: Image.Image, dpi: int) -> list[Block]:
        """Blocks in PDF points (origin top-left), in reading order."""


MODEL_INPUT_HW = (800, 608)  # rapid-layout's PP-Layout CDLA input, if its handler does not say (img_size)


class _LayoutSessionOnOpenVino:
    """What rapid-layout's model handler asks of a session: the class names and a call returning the outputs."""

    def __init__(self, session):
        self.session = session
        self.characters = session.metadata.get("character", "").splitlines()

    def __call__(self, image: np.ndarray):
        return self.session(image)


class RapidLayoutEngine(LayoutEngine):
    name = "rapid_layout"

    def __init__(self, min_score: float = 0.5, paragraphs: bool = True, threads: int = 1, runtime: str = "auto",
                 precision: str = "bf16"):
        from rapid_layout import RapidLayout
        from rapid_layout.model_handler import ModelHandler, ModelProcessor
        from rapid_layout.utils.typings import ModelType, RapidLayoutInput

        from doc_pipeline.core.inference import OpenVinoSession, model_cache_dir, on_openvino, resolve_runtime

        # one intra-op thread: pages run in parallel on the page pool instead, and ONNX Runtime's own threads
        # mostly spin (measured: the same wall time per page at twice the CPU with its default thread count)
        cfg = {"intra_op_num_threads": threads} if threads > 0 else {}
        model_path = ModelProcessor.get_model_path(ModelType.PP_LAYOUT_CDLA)  # inside the wheel, nothing downloaded
        self.runtime, self.model = resolve_runtime(runtime), None
        if self.runtime == "openvino":
            # the same .onnx file on OpenVINO (about half the CPU per page, same outputs: core/inference.py), behind
            # rapid-layout's own pre- and post-processing, which reads the class names from the model's metadata
            cfg_in = RapidLayoutInput(model_type=ModelType.PP_LAYOUT_CDLA, model_dir_or_path=model_path,
                                      conf_thresh=min_score)
            self.model = on_openvino(runtime, lambda: ModelHandler(cfg_in, _LayoutSessionOnOpenVino(
                OpenVinoSession(model_path, threads, model_cache_dir(), precision))), "layout model")
        if self.model is None:
            self.runtime = "onnxruntime"
            self.model = RapidLayout(conf_thresh=min_score, engine_cfg=cfg, model_dir_or_path=model_path)
        self.paragraphs = paragraphs
        handler = getattr(getattr(self.model, "model_handler", self.model), "model_processors", None)
        self.input_hw = tuple(getattr(handler, "img_size", MODEL_INPUT_HW))

    def detect(self, image: Image.Image, dpi: int) -> list[Block]:
        import cv2

        # The model reads a fixed 608x800 input. Shrinking the page to it *before* any colour conversion gives the
        # model the same pixels as rapid-layout's own cv2 resize of the full page (linear interpolation is per
        # channel, and a grey page's channels are equal) without three full-size copies of a 200-dpi page.
        arr = np.asarray(image if image.mode in ("L", "RGB") else image.convert("RGB"))
        h, w = arr.shape[:2]
        in_h, in_w = self.input_hw
        small = cv2.resize(arr, (in_w, in_h))
        bgr = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR if small.ndim == 2 else cv2.COLOR_RGB2BGR)
        out = self.model(bgr)
        if out.boxes is None or len(out.boxes) == 0:
            return []
        fx, fy = w / in_w, h / in_h
        raw = [(CDLA_TO_PUBLAYNET.get(name, "text"), (box[0] * fx, box[1] * fy, box[2] * fx, box[3] * fy), float(score))
               for box, name, score in zip(out.boxes, out.class_names, out.scores)]
        if self.paragraphs:
            from doc_pipeline.core.layout_post import split_text_blocks

            # captions go in as "caption" (split into paragraphs like text, but never turned into a list)
            raw = [("caption" if name in CAPTIONS else kind, box, score)
                   for (kind, box, score), name in zip(raw, out.class_names)]
            gray = arr if arr.ndim == 2 else np.asarray(image.convert("L"))
            raw = split_text_blocks(gray, raw)
        s = 72.0 / dpi
        blocks = [Block(type=kind, bbox=tuple(round(v * s, 2) for v in box), score=round(score, 4))
                  for kind, box, score in raw]
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


class LayoutParserEngine(LayoutEngine):
    """LayoutParser's Detectron2 PubLayNet model (classes already text/title/list/table/figure). Optional:
    `pip install "layoutparser[layoutmodels]"` plus the model weights (fetched by LayoutParser from its model
    zoo on first use, or a local config/weights pair given as `config`)."""

    name = "layoutparser"
    LABELS = {0: "text", 1: "title", 2: "list", 3: "table", 4: "figure"}

    def __init__(self, min_score: float = 0.5, config: str = "lp://PubLayNet/faster_rcnn_R_50_FPN_3x/config",
                 **_: object):
        try:
            import layoutparser as lp
        except ImportError as exc:
            raise LayoutEngineUnavailable(
                "layout engine 'layoutparser' needs LayoutParser with its Detectron2 backend: "
                "pip install 'layoutparser[layoutmodels]' (and its PubLayNet weights), "
                "or set DOCPIPE_LAYOUT_ENGINE=rapid_layout") from exc
        self.model = lp.Detectron2LayoutModel(config, label_map=self.LABELS,
                                              extra_config=["MODEL.ROI_HEADS.SCORE_THRESH_TEST", min_score])

    def detect(self, image: Image.Image, dpi: int) -> list[Block]:
        s = 72.0 / dpi
        blocks = [Block(type=str(el.type), bbox=tuple(round(float(v) * s, 2) for v in el.coordinates),
                        score=round(float(el.score or 0.0), 4))
                  for el in self.model.detect(np.asarray(image.convert("RGB")))]
        return reading_order(blocks, page_width=image.width * s)


class NoLayoutEngine(LayoutEngine):
    """No layout model: no blocks (OCR reads the page in its own line order; scanned tables come from ruling
    lines only). The fast text-only profile, DOCPIPE_LAYOUT_ENGINE=none: saves the model's ~0.2 CPU s/page."""

    name = "none"

    def __init__(self, **_: object):
        pass

    def detect(self, image: Image.Image, dpi: int) -> list[Block]:
        return []


class LayoutEngineUnavailable(RuntimeError):
    """The named engine is registered but its optional dependencies or weights are not installed."""


ENGINES: EngineRegistry[LayoutEngine] = EngineRegistry("layout")
ENGINES.register("rapid_layout", RapidLayoutEngine)
ENGINES.register("layoutparser", LayoutParserEngine)
ENGINES.register("none", NoLayoutEngine)


def register_layout_engine(name: str, factory: Callable[..., LayoutEngine]) -> None:
    ENGINES.register(name, factory)


def get_layout_engine(name: str = "rapid_layout", **options) -> LayoutEngine:
    """One engine per (name, options, thread); `options` go to the factory (min_score, paragraphs, config)."""
    return ENGINES.get(name, **options)


def layout_options(settings) -> dict:
    """Factory options for the configured engine, from Settings."""
    if settings.layout_engine == "layoutparser":
        return {"min_score": settings.layout_min_score, "config": settings.layoutparser_config}
    if settings.layout_engine == "rapid_layout":
        return {"min_score": settings.layout_min_score, "paragraphs": settings.layout_paragraphs,
                "threads": settings.layout_threads, "runtime": settings.model_runtime,
                "precision": settings.layout_precision}
    return {}
