from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from doc_pipeline.core.ocr.base import OcrEngine, OcrWord, register_engine, without_ornaments

_CANDIDATES = ("/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata",
               "/usr/share/tessdata", "/usr/local/share/tessdata")


def find_tessdata(explicit: str | None = None) -> str:
    for cand in (explicit, os.environ.get("TESSDATA_PREFIX"), *_CANDIDATES):
        if cand and (Path(cand) / "eng.traineddata").exists():
            return str(cand)
    raise RuntimeError("Tesseract language data not found: install tesseract-ocr-eng or set TESSDATA_PREFIX")


def set_image(api, image: Image.Image) -> None:
    """Hand the pixels over as they are. tesserocr's SetImage(PIL image) PNG-encodes the page for Leptonica to
    decode again (~0.07 CPU s per 200-dpi page, a quarter of the recognition itself)."""
    if image.mode not in ("L", "RGB", "RGBA"):
        image = image.convert("RGB" if image.mode in ("P", "CMYK", "YCbCr", "LAB", "HSV") else "L")
    bpp = len(image.mode)
    api.SetImageBytes(image.tobytes(), image.width, image.height, bpp, image.width * bpp)


@register_engine("tesseract")
class TesseractEngine(OcrEngine):
    """In-process Tesseract through tesserocr (one API handle per thread, loaded once)."""

    name = "tesseract"

    def __init__(self, lang: str = "eng", tessdata: str | None = None, psm: int | None = None):
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # several times faster per core than OpenMP threads
        import tesserocr

        self._tesserocr = tesserocr
        self.lang = lang
        psm_mode = tesserocr.PSM.AUTO if psm is None else psm
        self.api = tesserocr.PyTessBaseAPI(path=find_tessdata(tessdata), lang=lang, psm=psm_mode)

    def version(self) -> str:
        return self._tesserocr.tesseract_version().split()[1] if self._tesserocr else ""

    def recognize(self, image: Image.Image, dpi: int) -> list[OcrWord]:
        tr = self._tesserocr
        set_image(self.api, image)
        self.api.SetSourceResolution(int(dpi))
        self.api.Recognize()
        it = self.api.GetIterator()
        words: list[OcrWord] = []
        if it is None:
            return words
        level = tr.RIL.WORD
        line = block = -1
        while True:
            if it.IsAtBeginningOf(tr.RIL.BLOCK):
                block += 1
            if it.IsAtBeginningOf(tr.RIL.TEXTLINE):
                line += 1
            try:
                text = it.GetUTF8Text(level)
            except RuntimeError:  # an empty element (e.g. a single-line crop with nothing readable)
                text = None
            if text and text.strip():
                box = it.BoundingBox(level)
                if box:
                    words.append(OcrWord(text=text.strip(), box_px=tuple(box), conf=it.Confidence(level) / 100.0,
                                         line=max(line, 0), block=max(block, 0),
                                         in_dictionary=bool(it.WordIsFromDictionary())))
            if not it.Next(level):
                break
        self.api.Clear()
        return without_ornaments(words)

    def detect_orientation(self, image: Image.Image, dpi: int, min_chars: int | None = None) -> tuple[int, float] | None:
        """Tesseract OSD: (degrees clockwise the page is rotated, confidence), or None if unsure. `min_chars`: the
        characters OSD classifies before it may stop (Tesseract's min_characters_to_try, default 50); fewer is
        proportionally cheaper and less confident."""
        tr = self._tesserocr
        apis = self.__dict__.setdefault("_osd_apis", {})
        osd_api = apis.get(min_chars)
        if osd_api is None:
            osd_api = apis[min_chars] = tr.PyTessBaseAPI(path=find_tessdata(), lang="osd", psm=tr.PSM.OSD_ONLY)
            if min_chars:
                osd_api.SetVariable("min_characters_to_try", str(int(min_chars)))
        set_image(osd_api, image)
        osd_api.SetSourceResolution(int(dpi))
        res = osd_api.DetectOrientationScript()
        osd_api.Clear()
        if not res:
            return None
        return int(res["orient_deg"]), float(res["orient_conf"])
