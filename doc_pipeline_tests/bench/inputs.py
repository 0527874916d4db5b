"""Benchmark inputs, generated here (nothing copied): native PDFs with text and ruled tables, scanned PDFs made
by rasterising them (doc_pipeline.samples.rasterise), one-page documents for bursts, and large scanned PDFs built
by repeating a few distinct scanned pages (rasterising 500 pages one by one would take longer than the run)."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pypdfium2 as pdfium
from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas
from reportlab.platypus import Table as RLTable
from reportlab.platypus import TableStyle

from doc_pipeline.samples import rasterise

_WORDS = ("invoice statement payment balance account transfer amount total period employer salary deposit "
          "service storage courier archive customer reference opening closing interest fee tax net gross").split()
_NAMES = ("Northwind Paper Services", "Blue Harbor Logistics", "Acme Lending Corp", "Contoso Bank",
          "Fabrikam Utilities", "Tailspin Couriers")


def _page(c: canvas.Canvas, rng: random.Random, page_no: int) -> None:
    """One letter page: a title, a few labelled lines, a paragraph and a ruled table of amounts."""
    c.setFont("Helvetica-Bold", 18)
    c.drawString(72, 720, f"{rng.choice(('STATEMENT', 'INVOICE', 'EARNINGS STATEMENT'))}  page {page_no}")
    c.setFont("Helvetica", 12)
    lines = [f"Company: {rng.choice(_NAMES)}", f"Reference: REF-{rng.randrange(10**5, 10**6)}",
             f"Date: {rng.randrange(1, 28):02d}/{rng.randrange(1, 12):02d}/2024",
             f"Total due: EUR {rng.randrange(100, 9999)}.{rng.randrange(0, 99):02d}"]
    for i, line in enumerate(lines):
        c.drawString(72, 690 - 18 * i, line)
    y = 600
    for _ in range(4):
        c.drawString(72, y, " ".join(rng.choice(_WORDS) for _ in range(11)))
        y -= 16
    rows = [["Date", "Description", "Amount"]] + [
        [f"{rng.randrange(1, 28):02d}/01/2024", rng.choice(_WORDS).title() + " " + rng.choice(_WORDS),
         f"{rng.randrange(-2000, 3000)}.{rng.randrange(0, 99):02d}"] for _ in range(6)]
    t = RLTable(rows, colWidths=[100, 220, 100])
    t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.8, colors.black), ("FONTSIZE", (0, 0), (-1, -1), 11)]))
    _, h = t.wrapOn(c, 0, 0)
    t.drawOn(c, 72, 500 - h)


def native_pdf(pages: int, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=letter)
    c.setTitle(f"doc-pipeline benchmark {seed}")
    for n in range(1, pages + 1):
        _page(c, rng, n)
        c.showPage()
    c.save()
    return buf.getvalue()


def scanned_pdf(pages: int, seed: int = 0, dpi: int = 200) -> bytes:
    return rasterise(native_pdf(pages, seed), dpi=dpi, seed=seed)


def repeat_pages(pdf_bytes: bytes, pages: int) -> bytes:
    """A PDF of `pages` pages cycling through the pages of pdf_bytes (images are copied, not re-encoded)."""
    src = pdfium.PdfDocument(pdf_bytes)
    out = pdfium.PdfDocument.new()
    n = len(src)
    done = 0
    while done < pages:
        take = min(n, pages - done)
        out.import_pages(src, list(range(take)))
        done += take
    buf = io.BytesIO()
    out.save(buf)
    return buf.getvalue()


def large_scanned_pdf(pages: int, distinct: int = 4, seed: int = 0) -> bytes:
    return repeat_pages(scanned_pdf(min(distinct, pages), seed), pages)


def write(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def write_native_set(folder: Path, docs: int, pages_each: int) -> list[Path]:
    return [write(folder, f"native_{i:04d}.pdf", native_pdf(pages_each, seed=1000 + i)) for i in range(docs)]


def write_scanned_set(folder: Path, docs: int, pages_each: int) -> list[Path]:
    return [write(folder, f"scanned_{i:04d}.pdf", scanned_pdf(pages_each, seed=2000 + i)) for i in range(docs)]


def write_burst_set(folder: Path, docs: int, scanned_every: int = 2, prefix: str = "burst") -> list[Path]:
    """One-page documents; every `scanned_every`-th is a scan (made once and reused: the same bytes under
    different names are still different documents, as the raw/ key is the name)."""
    scan = scanned_pdf(1, seed=3000)
    return [write(folder, f"{prefix}_{i:04d}.pdf", scan if i % scanned_every == 0 else native_pdf(1, seed=3000 + i))
            for i in range(docs)]


def render_page_images(pdf_path: Path, folder: Path, dpi: int) -> list[Path]:
    """The pages of a PDF as PNGs at `dpi`, as the pipeline renders them (pypdfium2, greyscale)."""
    folder.mkdir(parents=True, exist_ok=True)
    pdf = pdfium.PdfDocument(str(pdf_path))
    out = []
    try:
        for i in range(len(pdf)):
            img = pdf[i].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            path = folder / f"{pdf_path.stem}_{i + 1:04d}.png"
            img.save(path, format="PNG", dpi=(dpi, dpi), compress_level=1)
            out.append(path)
    finally:
        pdf.close()
    return out
