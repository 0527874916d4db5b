"""RapidOCR: PP-OCR detection + recognition (ONNX models shipped in the rapidocr wheel), in-process.

PP-OCR finds text *lines*; with ``return_word_box`` its recogniser also places every word inside the line
(from the CTC alignment), so we get real word boxes instead of boxes spread evenly over the line.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from doc_pipeline.core.ocr.base import OcrEngine, OcrWord, register_engine


def _quad_box(quad) -> tuple[int, int, int, int]:
    q = np.asarray(quad, dtype=float)
    return int(q[:, 0].min()), int(q[:, 1].min()), int(np.ceil(q[:, 0].max())), int(np.ceil(q[:, 1].max()))


def _split_line_evenly(txt: str, box: tuple[int, int, int, int], score: float, line: int) -> list[OcrWord]:
    """Fallback when the recogniser gave no word boxes: spread the words over the line by character count."""
    x0, y0, x1, y1 = box
    n = max(1, len(txt))
    words, pos = [], 0
    for token in txt.split(" "):
        if token:
            a = x0 + (x1 - x0) * pos / n
            b = x0 + (x1 - x0) * (pos + len(token)) / n
            words.append(OcrWord(text=token, box_px=(int(a), y0, int(np.ceil(b)), y1), conf=score, line=line))
        pos += len(token) + 1
    return words


def _words_from_chars(txt: str, chars, line: int) -> list[OcrWord]:
    """Group the recogniser's per-character (char, score, quad) into the line's words: box = union of the
    characters' boxes, confidence = the least sure character. [] when the two do not line up."""
    flat = [c for c in chars if c and str(c[0]).strip()]
    if "".join(str(c[0]) for c in flat) != txt.replace(" ", ""):
        return []
    groups, k = [], 0
    for token in txt.split():
        groups.append(flat[k:k + len(token)])
        k += len(token)
    words = []
    for part in groups:
        token = "".join(str(c[0]) for c in part)
        boxes = [_quad_box(c[2]) for c in part]
        box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
        words.append(OcrWord(text=token, box_px=box, conf=float(min(c[1] for c in part)), line=line))
    return words


@register_engine("rapidocr")
class RapidOcrEngine(OcrEngine):
    name = "rapidocr"

    def __init__(self, threads: int = 1, det_limit_side: int = 736, max_side: int = 2000, **_):
        from rapidocr import RapidOCR

        # one thread per engine: pages (and documents) already run in parallel, one engine per worker thread
        self.engine = RapidOCR(params={
            "Global.log_level": "critical",
            "Global.use_cls": False,  # 180-degree text lines are handled by page orientation (OSD) instead
            "Global.return_word_box": True,
            "Global.return_single_char_box": True,  # per-character boxes + scores: word box and min score
            "Global.max_side_len": max_side,
            "Det.limit_side_len": det_limit_side,
            "EngineConfig.onnxruntime.intra_op_num_threads": int(threads or os.cpu_count() or 1),
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        })

    def version(self) -> str:
        try:
            from rapidocr import __version__

            return f"rapidocr {__version__} PP-OCR"
        except ImportError:  # pragma: no cover
            return "rapidocr"

    def recognize_lines(self, image: Image.Image) -> list[list[OcrWord]]:
        """The text lines found, each a list of words (pixel boxes, per-word confidence), in detection order."""
        arr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])  # BGR, as OpenCV-based models expect
        out = self.engine(arr)
        if out is None or out.boxes is None or out.txts is None:
            return []
        word_results = getattr(out, "word_results", None) or [None] * len(out.txts)
        lines: list[list[OcrWord]] = []
        for i, (txt, quad, score) in enumerate(zip(out.txts, out.boxes, out.scores)):
            if not txt or not txt.strip():
                continue
            wr = word_results[i] if i < len(word_results) else None
            words = _words_from_chars(txt, wr, i) if wr else []
            if not words:
                words = _split_line_evenly(txt, _quad_box(quad), float(score), i)
            lines.append(words)
        return lines

    def recognize(self, image: Image.Image, dpi: int) -> list[OcrWord]:
        """Words with their detection line's number, lines in detection order: reading_order.order_words makes
        the reading order (rows, columns) for every engine alike."""
        return [w for line in self.recognize_lines(image) for w in line]
