"""Scanned-page preprocessing on generated pages: orientation (Tesseract OSD), deskew, DPI estimation, rescale."""

import pytest
from PIL import Image, ImageDraw

from doc_pipeline.core import images
from doc_pipeline.core.preprocess import estimate_skew, prepare_scanned_page, rescale_factor
from doc_pipeline_tests import make_docs

TEXT = ["The quick brown fox jumps over the lazy dog near the river bank.",
        "Invoice number 2024-0042 was issued on March 15 for paper services.",
        "Please pay the total amount of 97.99 within thirty days of receipt.",
        "Questions about this statement can be sent to our billing office.",
        "Thank you for your business and we look forward to serving you.",
        "Payments received after the due date are subject to a late fee.",
        "All prices include sales tax unless stated otherwise on the order."]


def page(dpi=150):
    return make_docs.text_image(TEXT * 2, dpi=dpi, width_in=8.5, height_in=6.0)


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_turned_page_is_turned_back(turn):
    upright = page()
    turned = upright.rotate(turn, expand=True, fillcolor=255)  # PIL: counter-clockwise
    prepared = prepare_scanned_page(turned, 150, deskew_pages=False, rescale=False)
    assert prepared.rotation == turn, prepared.steps  # turned counter-clockwise, so we turn it clockwise back
    assert f"rotate_{prepared.rotation}" in prepared.steps
    assert prepared.image.size == upright.size
    # the same pixels as the upright page (text lines back where they were)
    diff = sum(abs(a - b) for a, b in zip(prepared.image.convert("L").tobytes()[::97], upright.tobytes()[::97]))
    assert diff / (len(upright.tobytes()[::97])) < 2


def test_upright_page_is_left_alone():
    prepared = prepare_scanned_page(page(), 150, deskew_pages=False, rescale=False)
    assert prepared.rotation == 0 and prepared.steps == []


@pytest.mark.parametrize("angle", [-3.0, 1.7, 4.2])
def test_skewed_page_is_deskewed_within_half_a_degree(angle):
    skewed = page().rotate(angle, resample=Image.BICUBIC, expand=False, fillcolor=255)
    found = estimate_skew(skewed)
    assert found == pytest.approx(-angle, abs=0.5)
    prepared = prepare_scanned_page(skewed, 150, orientation=False, rescale=False)
    assert any(s.startswith("deskew_") for s in prepared.steps)
    assert abs(estimate_skew(prepared.image)) <= 0.5


def test_straight_page_gets_no_deskew():
    prepared = prepare_scanned_page(page(), 150, orientation=False, rescale=False)
    assert not any(s.startswith("deskew_") for s in prepared.steps)


def test_dpi_estimated_from_text_size_without_metadata():
    # a receipt: 3 inches wide at 300 dpi, 9 pt type; no DPI in the file
    dpi = 300
    img = Image.new("L", (3 * dpi, 6 * dpi), 255)
    d = ImageDraw.Draw(img)
    font = make_docs._font(int(9 / 72 * dpi * 1.35))  # PIL size = em in px; 9 pt type
    for j in range(20):
        d.text((30, 40 + j * 80), f"ITEM {j:02d} SUGAR 1KG    4.{j:02d}", fill=0, font=font)
    png = Image.open(__import__("io").BytesIO(make_docs.png_bytes(img, None)))
    est, estimated = images.image_dpi(png)
    assert estimated
    assert 200 <= est <= 450, est  # the old page-width guess said 106 dpi (a 8.5-inch-wide receipt)


def test_placeholder_96_dpi_is_not_trusted_for_a_receipt():
    img = Image.new("L", (900, 1800), 255)
    d = ImageDraw.Draw(img)
    font = make_docs._font(50)
    for j in range(20):
        d.text((30, 40 + j * 80), f"TOTAL {j:02d} RM 4.{j:02d}", fill=0, font=font)
    img.info["dpi"] = (96, 96)
    est, estimated = images.image_dpi(img)
    assert estimated and est > 150


def test_real_dpi_metadata_is_kept():
    img = page(200)
    img.info["dpi"] = (200, 200)
    assert images.image_dpi(img) == (200, False)


def test_full_page_dpi_estimate_stays_near_page_width_guess():
    img = page(200)  # 8.5 inches at 200 dpi, 12-pt-ish type
    est, estimated = images.image_dpi(img)
    assert estimated and est == 200


def test_tiny_text_is_upscaled_and_dpi_follows():
    img = make_docs.text_image(TEXT, dpi=40, width_in=8.5, height_in=3.0)  # glyphs a few pixels tall
    prepared = prepare_scanned_page(img, 40, orientation=False, deskew_pages=False)
    assert any(s.startswith("rescale_") for s in prepared.steps)
    f = prepared.image.width / img.width
    assert f > 1.2
    # the page keeps its size in points
    assert prepared.image.width * 72 / prepared.dpi == pytest.approx(img.width * 72 / 40, rel=0.02)
    assert rescale_factor(None) == 1.0 and rescale_factor(20) == 1.0


def test_osd_reads_the_whole_page_when_the_middle_band_has_no_text():
    # text only in the top part of a tall page: the cheap middle-band OSD sees nothing and must fall back
    top = make_docs.text_image(TEXT, dpi=150, width_in=8.5, height_in=3.0)
    tall = Image.new("L", (top.width, top.height * 4), 255)
    tall.paste(top, (0, 0))
    turned = tall.rotate(180, expand=True, fillcolor=255)
    prepared = prepare_scanned_page(turned, 150, deskew_pages=False, rescale=False)
    assert prepared.rotation == 180, prepared.steps


def test_fast_skew_profile_matches_rotating_the_whole_image():
    import cv2
    import numpy as np

    from doc_pipeline.core.images import binary_small
    from doc_pipeline.core.preprocess import SKEW_SIDE_PX, _ink_points, _SkewProfile

    bw = binary_small(np.asarray(page().rotate(2.0, fillcolor=255)), SKEW_SIDE_PX)
    h, w = bw.shape
    ys, xs = points = _ink_points(bw)
    profile = _SkewProfile(points, bw.shape)
    for angle in (-2.0, 0.0, 1.0, 9.95, -10.0):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        rows = cv2.warpAffine(bw, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0).sum(axis=1) / 255.0
        reference = float(np.sum(np.diff(rows) ** 2))
        assert profile.score(angle) == pytest.approx(reference, rel=0.1)
        # and exactly the plain formula (turn every ink pixel, drop rows off the page, count per row)
        t = np.deg2rad(angle)
        turned = np.rint(-np.sin(t) * (xs - w / 2) + np.cos(t) * (ys - h / 2) + h / 2)
        plain = np.bincount(turned[(turned >= 0) & (turned < h)].astype(np.int64), minlength=h).astype(np.float64)
        assert profile.score(angle) == float(np.sum(np.diff(plain) ** 2))


def test_band_osd_stops_after_fewer_characters_and_agrees():
    """The middle band is read with OSD_BAND_CHARS characters: cheaper, so less confident than Tesseract's 50,
    and the same answer on a turned page (the setting reaches Tesseract, or confidences would be equal)."""
    from doc_pipeline.core.ocr import get_engine
    from doc_pipeline.core.preprocess import OSD_BAND_CHARS, OSD_BAND_SURE_CONF

    engine = get_engine("tesseract")
    turned = page().rotate(180, expand=True, fillcolor=255)
    quick = engine.detect_orientation(turned, 150, min_chars=OSD_BAND_CHARS)
    full = engine.detect_orientation(turned, 150)
    assert quick[0] == full[0] == 180
    assert OSD_BAND_SURE_CONF <= quick[1] < full[1]


def test_a_wrong_osd_180_on_an_upright_page_is_overruled(monkeypatch):
    """OSD's 0-vs-180 call is weak on receipts: when it says 180 on an upright page, PP-OCR's line classifier (the
    real model) overrules it; on a page that really is upside down it agrees and the page is turned."""
    from doc_pipeline.core import preprocess

    monkeypatch.setattr(preprocess, "detect_orientation", lambda image, dpi: (180, 3.0))  # OSD's mistake
    monkeypatch.setattr(preprocess, "clearly_upright", lambda image, skew, components=None: False)  # OSD gets to answer
    prepared = prepare_scanned_page(page(), 150, deskew_pages=False, rescale=False)
    assert prepared.rotation == 0 and prepared.steps == []
    turned = page().rotate(180, expand=True, fillcolor=255)
    prepared = prepare_scanned_page(turned, 150, deskew_pages=False, rescale=False)
    assert prepared.rotation == 180 and "rotate_180" in prepared.steps


def test_an_upright_page_skips_osd(monkeypatch):
    """Glyph bottoms line up on the baseline while tops vary: the page is upright without asking OSD."""
    from doc_pipeline.core import preprocess

    up, down = preprocess.baseline_votes(page())
    assert up >= preprocess.UPRIGHT_MIN_LINES and down <= up * 0.2

    def osd(image, dpi):
        raise AssertionError("OSD was called on a clearly upright page")

    monkeypatch.setattr(preprocess, "detect_orientation", osd)
    prepared = prepare_scanned_page(page(), 150, rescale=False)
    assert prepared.rotation == 0 and not any(s.startswith("rotate_") for s in prepared.steps)


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_a_turned_page_is_never_taken_as_upright(turn):
    from doc_pipeline.core.preprocess import baseline_votes, clearly_upright

    turned = page().rotate(turn, expand=True, fillcolor=255)
    assert not clearly_upright(turned)
    if turn == 180:  # the mirror image of the upright votes: tops line up, bottoms vary
        up, down = baseline_votes(turned)
        assert down > up


def test_caps_only_text_is_left_to_osd():
    """Capitals and digits line up at the top and the bottom alike: undecided, so OSD still looks at the page."""
    from doc_pipeline.core.preprocess import clearly_upright

    caps = make_docs.text_image([line.upper() for line in TEXT] * 2, dpi=150, width_in=8.5, height_in=6.0)
    assert not clearly_upright(caps)


def test_the_upright_check_is_only_trusted_for_baseline_scripts(monkeypatch):
    """Devanagari hangs from a headline (tops line up), so an upside-down page would look upright: a language
    outside the baseline scripts turns the check off and OSD reads every page."""
    from doc_pipeline.core import preprocess
    from doc_pipeline.settings import Settings

    assert preprocess.baseline_script("eng") and preprocess.baseline_script("deu+fra") and preprocess.baseline_script("rus")
    assert not preprocess.baseline_script("eng+hin") and not preprocess.baseline_script("")
    assert Settings(ocr_lang="eng").upright_check_resolved and not Settings(ocr_lang="hin").upright_check_resolved
    assert not Settings(ocr_lang="eng", ocr_upright_check=False).upright_check_resolved
    calls = []
    monkeypatch.setattr(preprocess, "detect_orientation", lambda image, dpi: calls.append(dpi))
    prepare_scanned_page(page(), 150, rescale=False, upright_check=False)
    assert calls == [150]  # the same clearly upright page gets OSD when the check is off


@pytest.mark.parametrize("angle", [0.0, -2.0, 6.0])
def test_text_size_from_the_upright_tests_components_matches_measuring_the_deskewed_page(angle):
    """prepare_scanned_page labels the glyphs once: the upright test's components, measured before deskew, give the
    text size, corrected for the skew, instead of labelling the deskewed page again."""
    from doc_pipeline.core.preprocess import deskew

    skewed = page().rotate(angle, resample=Image.BICUBIC, expand=False, fillcolor=255) if angle else page()
    comps = images.GlyphComponents(skewed)
    found = estimate_skew(skewed) if angle else 0.0
    fresh = images.median_glyph_height(deskew(skewed, found) if found else skewed)
    reused = images.median_glyph_height(skewed, components=comps, skew=found)
    if not angle:
        assert reused == fresh  # the same components: the same answer
    assert reused == pytest.approx(fresh, rel=0.12)
    uncorrected = images.median_glyph_height(skewed, components=comps)
    if abs(angle) >= 5:  # a skewed glyph is taller: the correction brings it back
        assert abs(reused - fresh) < abs(uncorrected - fresh)


def test_the_upright_check_and_the_text_size_share_one_labelling(monkeypatch):
    from doc_pipeline.core import preprocess

    made = []
    real = preprocess.GlyphComponents
    monkeypatch.setattr(preprocess, "GlyphComponents", lambda *a, **k: made.append(1) or real(*a, **k))
    monkeypatch.setattr(images, "GlyphComponents", lambda *a, **k: made.append(1) or real(*a, **k))
    prepared = prepare_scanned_page(page().rotate(-2.0, resample=Image.BICUBIC, fillcolor=255), 150)
    assert any(s.startswith("deskew_") for s in prepared.steps) and prepared.rotation == 0
    assert len(made) == 1


def test_text_size_near_a_rescale_threshold_is_measured_on_the_deskewed_page(monkeypatch):
    """The skew-corrected estimate stands in only away from the 7 / 80 px thresholds (7 px vs 6.9 px is no rescale
    vs 3x): near them the deskewed page is measured itself, as before."""
    from doc_pipeline.core import preprocess

    calls = []
    real = preprocess.median_glyph_height

    def probe(image, max_side=1600, components=None, skew=0.0):
        calls.append(components is not None)
        return 7.3 if components is not None else real(image, max_side)

    monkeypatch.setattr(preprocess, "median_glyph_height", probe)
    prepared = prepare_scanned_page(page().rotate(-2.0, resample=Image.BICUBIC, fillcolor=255), 150)
    assert any(s.startswith("deskew_") for s in prepared.steps)
    assert calls == [True, False]  # the estimate, then the page itself
    assert not any(s.startswith("rescale_") for s in prepared.steps)  # the real text is well above 7 px
    calls.clear()
    prepare_scanned_page(page(), 150)  # straight page: the components are the page's own, nothing measured again
    assert calls == [True]
