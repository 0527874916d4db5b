"""Layout post-processing on drawn page images: paragraphs, lists, reading order, engine registry."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from doc_pipeline.core import layout
from doc_pipeline.core.layout_post import split_text_blocks, text_lines
from doc_pipeline.core.models import Block

LH, GAP = 14, 8  # line height and spacing in pixels


def _page(lines: list[tuple[int, int, bool]], w=700, h=600) -> np.ndarray:
    """Lines of 'text' as (left, right, bullet) bars; a bullet is a small dot then a wide gap."""
    img = Image.new("L", (w, h), 255)
    d = ImageDraw.Draw(img)
    y = 20
    for left, right, bullet in lines:
        if bullet:
            d.ellipse((left, y + 4, left + 6, y + 10), fill=0)
            left += 30
        for x in range(left, right, 40):  # words with spaces between them
            d.rectangle((x, y, min(right, x + 32), y + LH), fill=0)
        y += LH + GAP
    return np.asarray(img)


def test_lines_found():
    gray = _page([(50, 650, False)] * 4)
    assert len(text_lines(gray)) == 4


def test_indented_paragraphs_are_split():
    lines = [(80, 650, False), (50, 650, False), (50, 650, False), (50, 400, False),  # paragraph 1
             (80, 650, False), (50, 650, False), (50, 300, False)]                      # paragraph 2
    gray = _page(lines)
    out = split_text_blocks(gray, [("text", (40, 10, 660, 200), 0.9)])
    assert [k for k, _, _ in out] == ["text", "text"]
    (_, a, _), (_, b, _) = out
    assert a[3] <= b[1]  # first paragraph above the second
    assert 20 + 3 * (LH + GAP) <= a[3] <= 20 + 4 * (LH + GAP)


def test_bulleted_block_becomes_a_list():
    lines = [(50, 600, True), (80, 500, False), (50, 620, True), (50, 580, True), (80, 400, False)]
    out = split_text_blocks(_page(lines), [("text", (40, 10, 660, 200), 0.9)])
    assert [k for k, _, _ in out] == ["list"]


def test_non_text_blocks_pass_through():
    gray = _page([(50, 650, False)] * 3)
    blocks = [("table", (40, 10, 660, 100), 0.8), ("figure", (0, 300, 100, 400), 0.7)]
    assert split_text_blocks(gray, blocks) == blocks


def test_reading_order_two_columns_with_full_width_title():
    W = 600
    blocks = [Block(type="text", bbox=(320, 120, 560, 300), score=1), Block(type="title", bbox=(40, 40, 560, 80), score=1),
              Block(type="text", bbox=(40, 320, 280, 500), score=1), Block(type="text", bbox=(40, 120, 280, 300), score=1),
              Block(type="text", bbox=(320, 320, 560, 500), score=1), Block(type="figure", bbox=(40, 520, 560, 700), score=1)]
    ordered = layout.reading_order(blocks, W)
    assert [b.bbox[:2] for b in ordered] == [(40, 40), (40, 120), (40, 320), (320, 120), (320, 320), (40, 520)]
    assert [b.order for b in ordered] == list(range(6))


def test_layoutparser_engine_is_registered_and_says_what_to_install():
    try:
        import layoutparser  # noqa: F401
    except ImportError:
        with pytest.raises(layout.LayoutEngineUnavailable, match="pip install 'layoutparser"):
            layout.get_layout_engine("layoutparser", min_score=0.5)
    with pytest.raises(ValueError, match="unknown layout engine"):
        layout.get_layout_engine("nope")


def test_rapid_layout_engine_detects_and_orders_blocks():
    gray = _page([(80, 650, False), (50, 650, False), (50, 300, False), (80, 650, False), (50, 650, False)])
    img = Image.fromarray(gray).convert("RGB")
    engine = layout.get_layout_engine("rapid_layout", min_score=0.5, paragraphs=True)
    blocks = engine.detect(img, dpi=72)
    assert all(b.type in {"text", "title", "list", "table", "figure", "header", "footer"} for b in blocks)
    assert [b.order for b in blocks] == list(range(len(blocks)))


def _draw(rows: list[tuple[int, int, int]], w=700, h=400, ink=0) -> np.ndarray:
    """Rows of (left, right, label_width): a label of that width, a word space, then words up to `right`."""
    img = Image.new("L", (w, h), 255)
    d = ImageDraw.Draw(img)
    y = 20
    for left, right, label in rows:
        if label:
            d.rectangle((left, y, left + label, y + LH), fill=ink)
            left += label + 8  # a normal word space after "3." / "(ii)": no bullet gap
        for x in range(left, right, 40):
            d.rectangle((x, y, min(right, x + 32), y + LH), fill=ink)
        y += LH + GAP
    return np.asarray(img)


def test_hanging_indent_block_is_a_list():
    # "(2) Measure ..." then continuation lines indented to where the item's text starts; one label only
    gray = _draw([(50, 650, 16), (74, 650, 0), (74, 650, 0), (74, 300, 0)])
    assert [k for k, _, _ in split_text_blocks(gray, [("text", (40, 10, 660, 120), 0.9)])] == ["list"]
    # the end of one item (indented), then the next item with its label
    gray = _draw([(74, 650, 0), (74, 300, 0), (50, 650, 16), (74, 500, 0)])
    assert [k for k, _, _ in split_text_blocks(gray, [("text", (40, 10, 660, 120), 0.9)])] == ["list"]


def test_prose_with_first_line_indents_is_not_a_list():
    gray = _draw([(74, 650, 0), (50, 650, 0), (50, 650, 0), (50, 300, 0), (74, 650, 0), (50, 400, 0)])
    kinds = [k for k, _, _ in split_text_blocks(gray, [("text", (40, 10, 660, 160), 0.9)])]
    assert kinds == ["text", "text"]
    # a model "list"/reference block holding prose is split as text, not kept as a list
    kinds = [k for k, _, _ in split_text_blocks(gray, [("list", (40, 10, 660, 160), 0.9)])]
    assert kinds == ["text", "text"]


def test_block_indented_from_its_column_is_a_list():
    # column text flush at 50; then a block of unlabelled items indented to 90 that still ends at the right edge
    rows = [(50, 650, 0)] * 3 + [(90, 650, 0), (90, 400, 0), (90, 650, 0), (90, 500, 0)]
    gray = _draw(rows)
    top = 20 + 3 * (LH + GAP) - 4
    blocks = [("text", (45, 10, 655, top - 2), 0.9), ("text", (85, top, 655, 190), 0.9)]
    assert [k for k, _, _ in split_text_blocks(gray, blocks)][-1] == "list"
    # centred lines (an equation, a quote) do not reach the right edge: not a list
    rows = [(50, 650, 0)] * 3 + [(200, 500, 0), (200, 480, 0)]
    blocks = [("text", (45, 10, 655, top - 2), 0.9), ("text", (190, top, 510, 130), 0.9)]
    assert [k for k, _, _ in split_text_blocks(_draw(rows), blocks)][-1] == "text"
    # a caption indented the same way stays text
    blocks = [("text", (45, 10, 655, top - 2), 0.9), ("caption", (85, top, 655, 190), 0.9)]
    assert [k for k, _, _ in split_text_blocks(gray, blocks)][-1] == "text"


def test_model_box_cutting_into_the_text_is_not_an_indent():
    rows = [(50, 650, 0)] * 3 + [(50, 650, 0), (50, 400, 0)]
    gray = _draw(rows)
    top = 20 + 3 * (LH + GAP) - 4
    blocks = [("text", (45, 10, 655, top - 2), 0.9), ("list", (120, top, 655, 130), 0.9)]  # box starts mid-line
    assert [k for k, _, _ in split_text_blocks(gray, blocks)][-1] == "text"


def test_light_print_is_found_and_not_broken_into_bullets():
    gray = _draw([(50, 650, 0)] * 4, ink=185)  # grey print, lighter than the fixed ink level
    lines = text_lines(gray)
    assert len(lines) == 4 and not any(ln.bullet for ln in lines)


def test_bold_one_line_paragraph_in_a_text_block_is_a_title():
    img = Image.new("L", (700, 300), 255)
    d = ImageDraw.Draw(img)

    def words(y, left, right, stroke):  # letters drawn as vertical strokes of the given width
        for x in range(left, right, 9):
            d.rectangle((x, y, x + stroke - 1, y + LH), fill=0)

    y = 20
    for left, right, stroke in [(50, 650, 2), (50, 650, 2), (50, 300, 2),   # a paragraph
                                (50, 200, 5),                              # bold heading
                                (50, 650, 2), (50, 400, 2)]:               # the next paragraph
        words(y, left, right, stroke)
        y += LH + GAP + (10 if stroke == 5 else 0)
    out = split_text_blocks(np.asarray(img), [("text", (40, 10, 660, 200), 0.9)])
    assert [k for k, _, _ in out] == ["text", "title", "text"]


def _invoice_page_image(mode: str) -> Image.Image:
    from doc_pipeline.samples import native_invoice_pdf
    from doc_pipeline_tests.make_docs import render_page

    return render_page(native_invoice_pdf(), dpi=150).convert(mode)


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_layout_model_gets_the_pixels_its_own_resize_would_give(mode):
    """detect() shrinks the page to the model's input before converting colours; the boxes must be those of
    rapid-layout run on the full-size BGR page (its own resize), scaled to points the same way."""
    img = _invoice_page_image(mode)
    engine = layout.RapidLayoutEngine(min_score=0.5, paragraphs=False)
    got = sorted((b.type, b.bbox) for b in engine.detect(img, dpi=150))
    full = np.asarray(img.convert("RGB"))[:, :, ::-1].copy()
    out = engine.model(full)
    want = sorted((layout.CDLA_TO_PUBLAYNET.get(n, "text"), tuple(round(v * 72 / 150, 2) for v in box))
                  for box, n in zip(out.boxes, out.class_names))
    assert len(got) == len(want) >= 2  # the invoice has a title, text and a table
    for (gt, gb), (wt, wb) in zip(got, want):
        assert gt == wt
        assert max(abs(a - b) for a, b in zip(gb, wb)) < 0.05, (gb, wb)
