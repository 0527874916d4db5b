"""The project's own sample documents, generated (never copied from anywhere): a native invoice with a ruled
table, a scanned pay stub (a rasterised page with noise), and a mixed bank statement (one native page, one scanned
page). Used by the demo (`doc-pipeline samples`) and the tests.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageFilter
from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas
from reportlab.platypus import Table as RLTable
from reportlab.platypus import TableStyle

INVOICE_ROWS = [["Item", "Qty", "Unit price", "Amount"],
                ["Document scanning service", "12", "4.50", "54.00"],
                ["Archive storage (month)", "1", "19.99", "19.99"],
                ["Courier pickup", "2", "12.00", "24.00"]]
INVOICE_TOTAL = "97.99"
INVOICE_IBAN = "DE89370400440532013000"  # the standard example IBAN (valid checksum)


def _table(c: canvas.Canvas, rows: list[list[str]], x: float, y: float, widths: list[float]) -> None:
    t = RLTable(rows, colWidths=widths)
    t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.8, colors.black),
                           ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                           ("FONTSIZE", (0, 0), (-1, -1), 11)]))
    _, h = t.wrapOn(c, 0, 0)
    t.drawOn(c, x, y - h)


def _invoice_page(c: canvas.Canvas) -> None:
    c.setFont("Helvetica-Bold", 20)
    c.drawString(72, 720, "INVOICE")
    c.setFont("Helvetica", 12)
    lines = ["Northwind Paper Services Ltd", "12 Harbour Road, Bristol BS1 4AA", "",
             "Invoice number: INV-2024-0042", "Invoice date: 15 March 2024", "Customer: Acme Lending Corp"]
    for i, line in enumerate(lines):
        c.drawString(72, 690 - 16 * i, line)
    _table(c, INVOICE_ROWS, 72, 580, [220, 50, 90, 90])
    c.setFont("Helvetica-Bold", 12)
    c.drawString(340, 470, f"Total due: EUR {INVOICE_TOTAL}")
    c.setFont("Helvetica", 11)
    c.drawString(72, 430, f"Pay by bank transfer to IBAN {INVOICE_IBAN[:4]} {INVOICE_IBAN[4:8]} {INVOICE_IBAN[8:12]} "
                          f"{INVOICE_IBAN[12:16]} {INVOICE_IBAN[16:20]} {INVOICE_IBAN[20:]}")
    c.drawString(72, 414, "Payment due by 14/04/2024.")


def _paystub_page(c: canvas.Canvas) -> None:
    c.setFont("Helvetica-Bold", 18)
    c.drawString(72, 720, "EARNINGS STATEMENT")
    c.setFont("Helvetica", 13)
    lines = ["Employer: Blue Harbor Logistics Inc", "Employee: Maria Gonzalez", "Pay period: 01/02/2024 - 15/02/2024",
             "Pay date: 16/02/2024"]
    for i, line in enumerate(lines):
        c.drawString(72, 690 - 20 * i, line)
    _table(c, [["Description", "Hours", "Amount"], ["Regular pay", "80", "$2,400.00"], ["Overtime", "4", "$180.00"],
               ["Federal tax", "", "-$412.80"]], 72, 590, [200, 80, 120])
    c.setFont("Helvetica-Bold", 13)
    c.drawString(72, 480, "Gross pay: $2,580.00")
    c.drawString(72, 460, "Net pay: $2,167.20")


def _statement_pages(c: canvas.Canvas) -> None:
    c.setFont("Helvetica-Bold", 18)
    c.drawString(72, 720, "BANK STATEMENT")
    c.setFont("Helvetica", 12)
    for i, line in enumerate(["Account holder: Jordan Smith", "Account number: 12345678",
                              "Statement period: 01/01/2024 to 31/01/2024", "Opening balance: 1,250.00",
                              "Closing balance: 1,732.45"]):
        c.drawString(72, 690 - 18 * i, line)
    c.showPage()
    c.setFont("Helvetica-Bold", 16)
    c.drawString(72, 720, "Transactions")
    _table(c, [["Date", "Description", "Amount"], ["03/01/2024", "Salary", "2,100.00"],
               ["09/01/2024", "Rent", "-1,400.00"], ["21/01/2024", "Groceries", "-217.55"]], 72, 700, [100, 200, 100])


def _pdf(draw) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=letter)
    c.setTitle("doc-pipeline sample")
    draw(c)
    c.showPage()
    c.save()
    return buf.getvalue()


def rasterise(pdf_bytes: bytes, dpi: int = 200, seed: int = 7, pages: set[int] | None = None) -> bytes:
    """Turn pages of a PDF into image-only pages (a 'scan'): grey, a little blur and noise, no text layer.
    Pages not in `pages` (1-based) are kept as they are."""
    rng = random.Random(seed)
    src = pdfium.PdfDocument(pdf_bytes)
    out = pdfium.PdfDocument.new()
    for i in range(len(src)):
        if pages is not None and i + 1 not in pages:
            out.import_pages(src, [i])
            continue
        page = src[i]
        w, h = page.get_size()
        img = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
        img = img.filter(ImageFilter.GaussianBlur(0.6))
        px = img.load()
        for _ in range(img.width * img.height // 400):  # salt-and-pepper specks
            px[rng.randrange(img.width), rng.randrange(img.height)] = rng.choice((0, 255))
        img = img.rotate(0.4, fillcolor=255, resample=Image.BILINEAR)
        new = out.new_page(w, h)
        obj = pdfium.PdfImage.new(out)
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=85)
        buf.seek(0)
        obj.load_jpeg(buf, inline=False)
        obj.set_matrix(pdfium.PdfMatrix().scale(w, h))
        new.insert_obj(obj)
        new.gen_content()
    data = io.BytesIO()
    out.save(data)
    return data.getvalue()


def native_invoice_pdf() -> bytes:
    return _pdf(_invoice_page)


def scanned_paystub_pdf() -> bytes:
    return rasterise(_pdf(_paystub_page), dpi=200)


def mixed_statement_pdf() -> bytes:
    return rasterise(_pdf(_statement_pages), dpi=200, pages={2})


def scanned_paystub_png(dpi: int = 200) -> bytes:
    page = pdfium.PdfDocument(_pdf(_paystub_page))[0]
    img = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    buf = io.BytesIO()
    img.save(buf, format="PNG", dpi=(dpi, dpi))
    return buf.getvalue()


SAMPLES = {
    "invoice_native.pdf": native_invoice_pdf,
    "paystub_scanned.pdf": scanned_paystub_pdf,
    "statement_mixed.pdf": mixed_statement_pdf,
}


def write_samples(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, make in SAMPLES.items():
        p = folder / name
        p.write_bytes(make())
        paths.append(p)
    return paths
