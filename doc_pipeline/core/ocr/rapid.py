from __future__ import annotations

import numpy as np
from PIL import Image

from doc_pipeline.core.ocr.base import OcrEngine, OcrWord, register_engine


@register_engine("rapidocr")
class RapidOcrEngine(OcrEngine):
    """PP-OCR detection + recognition (ONNX models shipped in the rapidocr wheel). It returns text lines; we
    split each line into words with boxes proportional to character positions."""

    name = "rapidocr"

    def __init__(self, **_):
        from rapidocr import RapidOCR

        self.engine = RapidOCR()

    def recognize(self, image: Image.Image, dpi: int) -> list[OcrWord]:
        arr = np.asarray(image.convert("RGB"))[:, :, ::-1]  # BGR, as OpenCV-based models expect
        out = self.engine(arr)
        if out is None or out.boxes is None:
            return []
        words: list[OcrWord] = []
        order = sorted(range(len(out.txts)), key=lambda i: (float(np.min(out.boxes[i][:, 1])), float(np.min(out.boxes[i][:, 0]))))
        for line_no, i in enumerate(order):
            txt, quad, score = out.txts[i], np.asarray(out.boxes[i]), float(out.scores[i])
            x0, y0 = quad[:, 0].min(), quad[:, 1].min()
            x1, y1 = quad[:, 0].max(), quad[:, 1].max()
            n = max(1, len(txt))
            pos = 0
            for token in txt.split(" "):
                if token:
                    a = x0 + (x1 - x0) * pos / n
                    b = x0 + (x1 - x0) * (pos + len(token)) / n
                    words.append(OcrWord(text=token, box_px=(int(a), int(y0), int(np.ceil(b)), int(np.ceil(y1))),
                                         conf=score, line=line_no))
                pos += len(token) + 1
        return words
