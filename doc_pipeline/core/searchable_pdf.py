"""Searchable PDF (``out/<doc_id>.pdf``) for scanned input, written by OCRmyPDF *without OCRing again*.

OCRmyPDF does the PDF work (page images, invisible text layer placed with its renderer, PDF/A-ish output); an
OCRmyPDF OCR-engine plugin (``ocrmypdf_plugin.py`` next to this module) hands it the words ocr_text already found
instead of running Tesseract: the text layer is exactly the pipeline's text, and OCR is paid once.

What is fed to OCRmyPDF:
- image input: a PDF built from our page images (after orientation/deskew/rescale, at their DPI), so the page the
  reader sees is the one our word boxes describe;
- PDF input: the original PDF in ``skip`` mode (pages that already have text, i.e. native pages, are left alone);
  our words of a page we turned by 90/180/270 degrees are turned back to the original page. Deskew (< 10 degrees)
  is not undone: on such pages the invisible words can sit up to a few points off the printed ones.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path

from PIL import Image

from doc_pipeline.core.models import Page, PageKind

WORDS_ENV = "DOCPIPE_OCRMYPDF_WORDS"  # how the plugin finds the words (OCRmyPDF runs it in its own workers)
_LOCK = threading.Lock()  # the variable is process-wide: one OCRmyPDF run at a time per process


def _unrotate_box(b, deg: int, w: float, h: float):
    """A box on the page turned `deg` clockwise (size w x h) -> the same box on the unturned page."""
    x0, y0, x1, y1 = b
    if deg == 90:  # turned page (w x h) came from an original of size h x w
        return (y0, w - x1, y1, w - x0)
    if deg == 180:
        return (w - x1, h - y1, w - x0, h - y0)
    if deg == 270:
        return (h - y1, x0, h - y0, x1)
    return b


def words_payload(pages: list[Page], turned_back: bool) -> dict:
    """{page_index (0-based): {"width", "height", "lines": [[[text, x0, y0, x1, y1, conf], ...], ...]}} in points."""
    from doc_pipeline.core.page_text import rotation_applied

    out: dict[str, dict] = {}
    for i, p in enumerate(sorted(pages, key=lambda p: p.page_no)):
        if p.kind != PageKind.scanned or not p.words:
            continue
        deg = rotation_applied(p.preprocessing) if turned_back else 0
        w, h = (p.height, p.width) if deg in (90, 270) else (p.width, p.height)
        lines: dict[tuple[int, int], list] = {}
        for word in p.words:
            box = _unrotate_box(word.bbox, deg, p.width, p.height) if deg else word.bbox
            lines.setdefault((word.block, word.line), []).append([word.text, *box, word.conf])
        out[str(i)] = {"width": w, "height": h, "lines": list(lines.values())}
    return out


def images_to_pdf(images: list[tuple[Image.Image, int]], dest: Path) -> None:
    """One PDF page per image, each sized by its DPI (so points match our page sizes)."""
    first, *rest = [img.convert("RGB") if img.mode not in ("L", "RGB") else img for img, _ in images]
    dpis = [d for _, d in images]
    # PIL writes one resolution for all pages: size the pages by writing each at its own DPI, then merge
    if len(set(dpis)) == 1:
        first.save(dest, "PDF", resolution=float(dpis[0]), save_all=True, append_images=rest)
        return
    import pikepdf

    out = pikepdf.Pdf.new()
    with tempfile.TemporaryDirectory() as tmp:
        for n, ((img, dpi)) in enumerate(images):
            part = Path(tmp) / f"{n}.pdf"
            img.save(part, "PDF", resolution=float(dpi))
            with pikepdf.open(part) as src:
                out.pages.extend(src.pages)
        out.save(dest)


def write_searchable_pdf(pages: list[Page], dest: Path, *, source_pdf: Path | None = None,
                         page_images: list[tuple[Image.Image, int]] | None = None, jobs: int = 1) -> Path:
    """Write dest with an invisible text layer made of `pages`' OCR words. Give source_pdf (PDF input) or
    page_images (image input, in page order). Raises RuntimeError when OCRmyPDF fails."""
    import ocrmypdf

    dest = Path(dest)
    with tempfile.TemporaryDirectory(prefix="docpipe-pdf-") as tmp:
        tmpd = Path(tmp)
        if source_pdf is None:
            if not page_images:
                raise ValueError("need source_pdf or page_images")
            source_pdf = tmpd / "pages.pdf"
            images_to_pdf(page_images, source_pdf)
            payload = words_payload(pages, turned_back=False)
        else:
            payload = words_payload(pages, turned_back=True)
        words_file = tmpd / "words.json"
        words_file.write_text(json.dumps(payload), encoding="utf-8")
        plugin = Path(__file__).with_name("ocrmypdf_plugin.py")
        with _LOCK:
            old = os.environ.get(WORDS_ENV)
            os.environ[WORDS_ENV] = str(words_file)
            try:
                code = ocrmypdf.ocr(source_pdf, dest, plugins=[plugin], mode="skip", output_type="pdf",
                                    jobs=jobs, progress_bar=False, optimize=0, pdf_renderer="fpdf2")
            finally:
                if old is None:
                    os.environ.pop(WORDS_ENV, None)
                else:
                    os.environ[WORDS_ENV] = old
        if int(code) != 0:
            raise RuntimeError(f"OCRmyPDF failed with exit code {int(code)}")
    return dest


def searchable_pdf_bytes(raw, pages: list[Page], raw_path: str, imgs, load_image) -> bytes | None:
    """The searchable PDF of one document (None when it has no scanned page: a native PDF is searchable already).
    raw: RawDocument; imgs: PageImages; load_image(key) -> PNG bytes."""
    import io

    if not any(p.kind == PageKind.scanned for p in pages):
        return None
    with tempfile.TemporaryDirectory(prefix="docpipe-out-") as tmp:
        dest = Path(tmp) / "out.pdf"
        if raw.media_type == "application/pdf":
            write_searchable_pdf(pages, dest, source_pdf=Path(raw_path))
        else:
            rendered = []
            for pi in sorted(imgs.images, key=lambda i: i.page_no):
                with Image.open(io.BytesIO(load_image(pi.key))) as im:
                    im.load()
                    rendered.append((im.copy(), pi.dpi))
            write_searchable_pdf(pages, dest, page_images=rendered)
        return dest.read_bytes()
