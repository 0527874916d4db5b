"""Image inputs: DPI (declared and estimated), multi-page TIFF, page size in points, limits."""

import pytest
from PIL import Image

from doc_pipeline.core.errors import LimitExceededError, UnsupportedFormatError
from doc_pipeline.core.images import image_dpi
from doc_pipeline.core.ingest import Limits, inspect_document
from doc_pipeline.core.models import DocKind, PageKind
from doc_pipeline.core.render import bounded_dpi
from doc_pipeline_tests import make_docs


def test_declared_dpi_gives_page_size_in_points(tmp_path):
    img = make_docs.text_image(["Total 12.50"], dpi=300, width_in=8.5, height_in=11)
    p = tmp_path / "scan.png"
    p.write_bytes(make_docs.png_bytes(img, 300))
    media, kind, pages = inspect_document(p)
    assert media == "image/png" and kind == DocKind.scanned
    assert pages[0].width == pytest.approx(612, abs=1) and pages[0].height == pytest.approx(792, abs=1)


def test_missing_dpi_is_estimated_from_width():
    img = Image.new("L", (1700, 2200), 255)  # no dpi metadata: a letter page at 200 dpi
    dpi, estimated = image_dpi(img)
    assert estimated and dpi == 200


def test_implausible_dpi_is_replaced():
    img = Image.new("L", (850, 1100), 255)
    img.info["dpi"] = (1, 1)
    assert image_dpi(img) == (100, True)


def test_multipage_tiff_pages_and_blank_frame(tmp_path):
    frames = [make_docs.text_image(["Page one"], 200), Image.new("L", (1700, 800), 255),
              make_docs.text_image(["Page three"], 200)]
    p = tmp_path / "multi.tif"
    p.write_bytes(make_docs.multipage_tiff(frames))
    media, kind, pages = inspect_document(p)
    assert media == "image/tiff"
    assert [pg.kind for pg in pages] == [PageKind.scanned, PageKind.blank, PageKind.scanned]
    assert kind == DocKind.scanned


def test_page_and_pixel_limits(tmp_path):
    frames = [make_docs.text_image([f"p{i}"], 50, 2, 2) for i in range(5)]
    p = tmp_path / "five.tif"
    p.write_bytes(make_docs.multipage_tiff(frames, 50))
    with pytest.raises(LimitExceededError):
        inspect_document(p, Limits(max_pages=3))
    big = tmp_path / "big.png"
    big.write_bytes(make_docs.png_bytes(Image.new("L", (3000, 3000), 255), 300))
    with pytest.raises(LimitExceededError):
        inspect_document(big, Limits(max_image_pixels=1_000_000))


def test_render_dpi_is_bounded_for_huge_pages():
    assert bounded_dpi(612, 792, 200, 60_000_000) == 200
    dpi = bounded_dpi(200000, 200000, 200, 60_000_000)
    assert (200000 * dpi / 72) ** 2 <= 60_000_000


def test_wrong_type_is_unsupported(tmp_path):
    p = tmp_path / "fake.pdf"
    p.write_bytes(b"PK\x03\x04 zip content")
    with pytest.raises(UnsupportedFormatError, match="ZIP"):
        inspect_document(p)


def test_native_pages_render_at_the_native_dpi_and_scanned_pages_at_the_render_dpi(tmp_path):
    """Pages with a text layer are only looked at by the layout model and the review page: rendered at
    native_render_dpi; a scanned page keeps the OCR resolution."""
    from doc_pipeline.core.ingest import Limits, inspect_document
    from doc_pipeline.core.models import RawDocument
    from doc_pipeline.core.render import iter_page_images
    from doc_pipeline.samples import mixed_statement_pdf

    path = tmp_path / "mixed.pdf"
    path.write_bytes(mixed_statement_pdf())
    media, kind, pages = inspect_document(str(path), Limits(50, 50_000_000, 50_000_000))
    raw = RawDocument(doc_id="m", raw_key=str(path), media_type=media, sha256="0", size=0, kind=kind, pages=pages,
                      source_name="mixed.pdf")
    got = {p.page_no: (p.dpi, p.image.width) for p in iter_page_images(str(path), raw, 200, 50_000_000, 50_000_000,
                                                                        native_dpi=100)}
    kinds = {p.page_no: p.kind.value for p in pages}
    assert set(kinds.values()) == {"native", "scanned"}
    for no, (dpi, width) in got.items():
        want = 100 if kinds[no] == "native" else 200
        assert dpi == want and abs(width - pages[no - 1].width * want / 72) <= 2, (no, kinds[no], dpi, width)


def test_page_png_keeps_pixels_and_dpi_in_every_mode():
    """Stored page images (render.png_bytes: written by hand for grey and RGB - Up filter, zlib-ng run-length
    deflate, pHYs chunk - PIL otherwise) decode to the same pixels and carry the page's DPI, as PIL's own PNG did,
    for PIL and OpenCV alike."""
    import io

    import numpy as np
    from PIL import Image

    from doc_pipeline.core.render import RenderedPage, png_bytes

    grey = make_docs.text_image(["Invoice 4711", "Total 120.50"])
    rgb = grey.convert("RGB")
    rgb.paste((200, 30, 30), (10, 10, 60, 40))  # a colour the channel order would get wrong
    noisy = Image.fromarray(np.random.default_rng(1).integers(0, 256, (37, 53), dtype=np.uint8))  # every byte value
    for img, dpi in ((grey, 200), (rgb, 300), (noisy, 200), (noisy.convert("RGB"), 72), (grey.convert("1"), 150),
                     (grey.convert("LA"), 96)):
        data = png_bytes(RenderedPage(1, img, dpi, []))
        back = Image.open(io.BytesIO(data))
        back.load()
        assert back.mode == img.mode
        assert np.array_equal(np.asarray(back), np.asarray(img)), img.mode
        if img.mode in ("L", "RGB"):  # OpenCV (the layout and table steps) reads it too
            import cv2

            decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
            assert np.array_equal(decoded if img.mode == "L" else decoded[:, :, ::-1], np.asarray(img))
        assert back.info["dpi"] == pytest.approx((dpi, dpi), abs=0.05)  # pixels per metre, rounded


def test_component_stats_are_opencvs_with_small_labels_and_fall_back_past_65535():
    """16-bit labels (a third of the time) give OpenCV's 32-bit stats exactly; an image with more components than
    16 bits can number is labelled with 32 bits instead of failing."""
    import cv2
    import numpy as np

    from doc_pipeline.core.images import component_stats

    page = np.asarray(make_docs.text_image(["INVOICE 2024-0042", "Total due 97.99"], dpi=200))
    ink = np.where(page < 128, 255, 0).astype(np.uint8)
    expected = cv2.connectedComponentsWithStats(ink, connectivity=8, ltype=cv2.CV_32S)[2]
    assert np.array_equal(component_stats(ink), expected) and len(expected) > 20
    dots = np.zeros((600, 600), np.uint8)
    dots[::2, ::2] = 255  # 90,000 one-pixel components
    with pytest.raises(cv2.error):
        cv2.connectedComponentsWithStats(dots, connectivity=8, ltype=cv2.CV_16U)
    assert len(component_stats(dots)) == 90_001
