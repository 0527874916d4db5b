"""Page rendering: a scan at the render DPI is decoded straight from its image, with exactly the rendered pixels;
every other page is rendered by PDFium."""

import io

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from doc_pipeline.core import render
from doc_pipeline.core.models import PageInfo, PageKind
from doc_pipeline.samples import rasterise
from doc_pipeline_tests import make_docs

TEXT = ["Invoice 2024-0042 issued on March 15", "Total amount due 97.99 within thirty days"] * 6


def scan(dpi: int = 200) -> pdfium.PdfDocument:
    return pdfium.PdfDocument(rasterise(make_docs.text_pdf(TEXT), dpi=dpi))


def rendered(page: pdfium.PdfPage, dpi: int) -> np.ndarray:
    return np.asarray(page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L"))


def info(page_no: int = 1, kind: PageKind = PageKind.scanned) -> PageInfo:
    return PageInfo(page_no=page_no, kind=kind, width=612, height=792)


def test_a_scan_at_the_render_dpi_is_decoded_with_the_rendered_pixels():
    pdf = scan(200)
    page = pdf[0]
    img = render.embedded_scan(page, 200)
    assert img is not None and img.mode == "L"
    assert np.array_equal(np.asarray(img), rendered(page, 200))


def test_render_pdf_page_takes_the_embedded_scan_only_for_scanned_pages(monkeypatch):
    pdf = scan(200)
    calls = []
    real = render.embedded_scan
    monkeypatch.setattr(render, "embedded_scan", lambda page, dpi: calls.append(dpi) or real(page, dpi))
    img, dpi = render.render_pdf_page(pdf, info(), 200, 60_000_000)
    assert calls == [200] and dpi == 200
    assert np.array_equal(np.asarray(img), rendered(pdf[0], 200))
    render.render_pdf_page(pdf, info(kind=PageKind.native), 200, 60_000_000)
    assert calls == [200]  # a native page is always rendered (colour, text drawn over)


@pytest.mark.parametrize("dpi", [150, 300])
def test_another_dpi_is_rendered(dpi):
    assert render.embedded_scan(scan(200)[0], dpi) is None


def test_anything_drawn_over_the_scan_is_rendered():
    pdf = scan(200)
    page = pdf[0]
    rect = pdfium.raw.FPDFPageObj_CreateNewRect(10, 10, 100, 20)
    pdfium.raw.FPDFPath_SetDrawMode(rect, pdfium.raw.FPDF_FILLMODE_ALTERNATE, False)
    pdfium.raw.FPDFPage_InsertObject(page.raw, rect)
    page.gen_content()
    assert render.embedded_scan(page, 200) is None


def test_a_turned_page_and_a_colour_scan_are_rendered():
    pdf = scan(200)
    page = pdf[0]
    page.set_rotation(90)
    assert render.embedded_scan(page, 200) is None
    # a colour image filling the page at 200 dpi
    doc = pdfium.PdfDocument.new()
    new = doc.new_page(612, 792)
    img = Image.new("RGB", (1700, 2200), (250, 240, 230))
    buf = io.BytesIO()
    img.save(buf, format="JPEG")
    buf.seek(0)
    obj = pdfium.PdfImage.new(doc)
    obj.load_jpeg(buf, inline=False)
    obj.set_matrix(pdfium.PdfMatrix().scale(612, 792))
    new.insert_obj(obj)
    new.gen_content()
    assert render.embedded_scan(new, 200) is None


def test_a_page_rendered_on_demand_is_bounded_and_an_unshowable_page_is_refused_at_inspection(tmp_path):
    from doc_pipeline.core.errors import LimitExceededError
    from doc_pipeline.core.ingest import Limits, inspect_document

    def huge(c, _i):
        c.setFont("Helvetica", 2000)
        c.drawString(1000, 100000, "Huge page")
    data = make_docs.pdf_with(huge, size=(200000, 200000))
    _, _, (info,) = inspect_document(_write(tmp_path / "huge.pdf", data))
    assert info.kind == PageKind.native
    page = render.render_page_on_demand(data, info, 100, 8_000_000)  # the review page's render of a native page
    assert page.image.width * page.image.height <= 8_000_000 and page.dpi < 100
    giant = _write(tmp_path / "giant.pdf", make_docs.pdf_with(huge, size=(10_000_000, 10_000_000)))
    with pytest.raises(LimitExceededError, match="even at 1 dpi"):  # never rendered later: refused in raw_pdf
        inspect_document(giant, Limits(max_page_pixels=8_000_000))


def _write(path, data: bytes):
    path.write_bytes(data)
    return path
