"""Layout blocks from an offline model, mapped to the PubLayNet classes text/title/list/table/figure."""

from __future__ import annotations

import abc
import functools
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


def _fast_pp_processing(handler) -> None:
    """Swap rapid-layout's PP-PicoDet pre- and post-processing for equivalent cheaper ones (same model input to
    float32 rounding, the same boxes): 0.03 of 0.1 CPU s a page went to normalising the input in float64 and to
    decoding the box distributions of all ~10,000 anchors, when only the few above the score threshold are kept."""
    from rapid_layout.model_handler.pp.post_process import PPPostProcess
    from rapid_layout.model_handler.pp.pre_process import PPPreProcess

    pre, post = getattr(handler, "pp_preprocess", None), getattr(handler, "pp_postprocess", None)
    if type(pre) is PPPreProcess and type(post) is PPPostProcess:  # another rapid-layout's handlers: leave them
        handler.pp_preprocess = _PPInput(pre.size, pre.mean, pre.std, pre.scale)
        handler.pp_postprocess = _pp_candidates_class()(post.labels, post.conf_thres, post.iou_thres)


class _PPInput:
    """PPPreProcess in float32, one channel at a time: (pixel / 255 - mean) / std, HWC BGR -> 1 x C x H x W."""

    def __init__(self, size, mean, std, scale):
        self.size = size
        self.gain = (scale / np.asarray(std, dtype=np.float64)).astype(np.float32)
        self.offset = (np.asarray(mean, dtype=np.float64) / np.asarray(std, dtype=np.float64)).astype(np.float32)

    def __call__(self, img: np.ndarray) -> np.ndarray:
        import cv2

        h, w = self.size
        if img.shape[:2] != (h, w):
            img = cv2.resize(img, (int(w), int(h)))
        out = np.empty((1, img.shape[2], h, w), dtype=np.float32)
        for c in range(img.shape[2]):
            np.multiply(img[:, :, c], self.gain[c], out=out[0, c], dtype=np.float32)
            out[0, c] -= self.offset[c]
        return out


@functools.lru_cache(maxsize=1)
def _pp_candidates_class():
    """The PPPostProcess subclass, made on first use (rapid-layout is imported only by the engine that needs it)."""
    from rapid_layout.model_handler.pp.post_process import PPPostProcess

    class PPCandidates(PPPostProcess):
        """PPPostProcess with the box distributions decoded only for the anchors that can pass the score threshold
        (the top nms_top_k per level, as before, whose best class score is above conf_thres): the same boxes in the
        same order (test_inference compares the two on the model's outputs)."""

        def img_info(self, origin_shape, img):
            """As PPPostProcess.img_info, without copying the whole input tensor twice to read its shape."""
            h, w = img.shape[2:]
            scale_factor = np.array([[h / float(origin_shape[0]), w / float(origin_shape[1])]], dtype=np.float32)
            return np.array([[h, w]], dtype=np.float32), (h, w), scale_factor

        def __call__(self, ori_shape, img, preds):
            num_outs = len(preds) // 2
            scores_l, boxes_l = preds[:num_outs], preds[num_outs:]
            reg_max = int(boxes_l[0].shape[-1] / 4 - 1)
            ori, input_shape, scale_factor = self.img_info(ori_shape, img)
            reg_range = np.arange(reg_max + 1)
            boxes, scores, names = [], [], []
            for b in range(boxes_l[0].shape[0]):
                decoded, kept = [], []
                for stride, dist, score in zip(self.strides, boxes_l, scores_l):
                    dist, score = dist[b], score[b]
                    fm_w = input_shape[1] / stride
                    top = np.argsort(score.max(axis=1))[::-1][: self.nms_top_k]
                    top = top[score[top].max(axis=1) > self.conf_thres]
                    rows, cols = np.divmod(top, int(np.ceil(fm_w)))
                    ct = np.stack([(cols + 0.5) * stride, (rows + 0.5) * stride] * 2, axis=1)
                    d = self.softmax(dist[top].reshape((-1, reg_max + 1)), axis=1)
                    d = np.sum(d * reg_range[None, :], axis=1).reshape((-1, 4)) * stride
                    decoded.append(ct + [-1, -1, 1, 1] * d)
                    kept.append(score[top])
                bboxes, conf = np.concatenate(decoded), np.concatenate(kept)
                picked, labels = [], []
                for cls in range(conf.shape[1]):
                    mask = conf[:, cls] > self.conf_thres
                    if not mask.any():
                        continue
                    bp = self.hard_nms(np.concatenate([bboxes[mask], conf[mask, cls][:, None]], axis=1),
                                       iou_thres=self.iou_thres, top_k=self.keep_top_k)
                    picked.append(bp)
                    labels.extend([cls] * bp.shape[0])
                if not picked:
                    continue
                bp = np.concatenate(picked)
                bp[:, :4] = self.warp_boxes(bp[:, :4], ori[b])
                bp[:, :4] /= np.concatenate([scale_factor[b][::-1], scale_factor[b][::-1]])
                for cls, row in zip(labels, bp):
                    boxes.append(row[:4].tolist())
                    scores.append(float(row[4]))
                    names.append(self.labels[cls])
            return boxes, scores, names

    return PPCandidates


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
        if handler is not None:
            _fast_pp_processing(handler)
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
