"""Small documents generated for the tests (the project's own; nothing from ../shared)."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas


def pdf_with(draw, pages: int = 1, size=letter) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=size)
    for i in range(pages):
        draw(c, i)
        c.showPage()
    c.save()
    return buf.getvalue()


def text_pdf(lines: list[str], pages: int = 1) -> bytes:
    def draw(c, i):
        c.setFont("Helvetica", 12)
        for j, line in enumerate(lines):
            c.drawString(72, 720 - 18 * j, line)
    return pdf_with(draw, pages)


def blank_pdf() -> bytes:
    return pdf_with(lambda c, i: None)


def invisible_text_over_image_pdf() -> bytes:
    """What an earlier OCR pass leaves: a page image with invisible (render mode 3) text on top."""
    img = text_image(["Invisible OCR layer"], dpi=100)

    def draw(c, i):
        from reportlab.lib.utils import ImageReader

        c.drawImage(ImageReader(img), 0, 0, width=612, height=792)
        t = c.beginText(72, 720)
        t.setTextRenderMode(3)
        t.setFont("Helvetica", 12)
        t.textLine("Invisible OCR layer with plenty of characters in it")
        c.drawText(t)
    return pdf_with(draw)


def vector_text_pdf() -> bytes:
    """Glyph-like shapes drawn as paths: no text layer, must be OCRed."""
    def draw(c, i):
        for k in range(60):
            p = c.beginPath()
            p.moveTo(72 + 7 * k, 700)
            p.curveTo(74 + 7 * k, 710, 76 + 7 * k, 690, 78 + 7 * k, 700)
            c.drawPath(p)
    return pdf_with(draw)


def _font(size: int):
    for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                 "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"):
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def text_image(lines: list[str], dpi: int = 200, width_in: float = 8.5, height_in: float = 4.0) -> Image.Image:
    img = Image.new("L", (int(width_in * dpi), int(height_in * dpi)), 255)
    d = ImageDraw.Draw(img)
    font = _font(int(dpi * 0.17))
    for j, line in enumerate(lines):
        d.text((int(dpi), int(dpi * (0.5 + 0.3 * j))), line, fill=0, font=font)
    return img


def png_bytes(img: Image.Image, dpi: int | None) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", **({"dpi": (dpi, dpi)} if dpi else {}))
    return buf.getvalue()


def multipage_tiff(images: list[Image.Image], dpi: int = 200) -> bytes:
    buf = io.BytesIO()
    images[0].save(buf, format="TIFF", save_all=True, append_images=images[1:], dpi=(dpi, dpi))
    return buf.getvalue()


def encrypted_pdf(tmp_path) -> bytes:
    import subprocess

    src, dst = tmp_path / "plain.pdf", tmp_path / "enc.pdf"
    src.write_bytes(text_pdf(["secret"]))
    subprocess.run(["qpdf", "--encrypt", "userpw", "ownerpw", "256", "--", str(src), str(dst)], check=True)
    return dst.read_bytes()


def table_pdf_ruled() -> bytes:
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    def draw(c, i):
        t = Table([["Name", "Qty", "Price"], ["Apples", "3", "1.20"], ["Pears", "5", "2.40"], ["Plums", "7", "0.90"]],
                  colWidths=[120, 60, 80])
        t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.8, colors.black)]))
        t.wrapOn(c, 0, 0)
        t.drawOn(c, 72, 600)
    return pdf_with(draw)


def table_pdf_two_per_page() -> bytes:
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    def draw(c, i):
        for y, rows in ((600, [["City", "Pop"], ["Oslo", "700"], ["Bergen", "290"]]),
                        (400, [["Year", "Sales", "Cost"], ["2022", "10", "7"], ["2023", "12", "8"], ["2024", "15", "9"]])):
            t = Table(rows, colWidths=[100, 80, 80][:len(rows[0])])
            t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.8, colors.black)]))
            t.wrapOn(c, 0, 0)
            t.drawOn(c, 72, y)
    return pdf_with(draw)


def table_pdf_unruled() -> bytes:
    """Columns aligned by position only (no lines): found inside a layout 'table' region."""
    rows = [["Date", "Description", "Amount"], ["03/01/2024", "Salary", "2,100.00"], ["09/01/2024", "Rent", "-1,400.00"],
            ["21/01/2024", "Groceries", "-217.55"]]

    def draw(c, i):
        c.setFont("Helvetica", 11)
        for j, row in enumerate(rows):
            for x, cell in zip((72, 200, 360), row):
                c.drawString(x, 700 - 20 * j, cell)
    return pdf_with(draw)


def render_page(pdf_bytes: bytes, dpi: int = 200) -> Image.Image:
    return pdfium.PdfDocument(pdf_bytes)[0].render(scale=dpi / 72).to_pil().convert("L")
