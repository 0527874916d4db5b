"""Vendor-neutral adapter output -> the project's models (bbox in PDF points, origin top-left).

Adapters give boxes as fractions of the page; the page size in points comes from our own page (authoritative: it is
the page as displayed), else from the vendor's size (inches x 72, points as is, pixels at an assumed DPI).
"""

from __future__ import annotations

import re
from typing import Any

from doc_pipeline.core.models import BBox, ExtractedField, FieldSource, Page, PageKind, Table, Word

LETTER = (612.0, 792.0)


def page_size_points(page: dict[str, Any], known: dict[int, tuple[float, float]] | None = None,
                     assume_dpi: float = 200.0) -> tuple[float, float]:
    n = page.get("page_no", 1)
    if known and n in known:
        return known[n]
    w, h, unit = page.get("width"), page.get("height"), (page.get("unit") or "").lower()
    if w and h:
        if unit.startswith("inch"):
            return float(w) * 72.0, float(h) * 72.0
        if unit.startswith("point"):
            return float(w), float(h)
        if unit.startswith("pixel"):
            return float(w) * 72.0 / assume_dpi, float(h) * 72.0 / assume_dpi
    return LETTER  # Textract gives ratios only: without our page size, assume US Letter


def to_points(frac: list[float] | None, size: tuple[float, float]) -> BBox | None:
    if not frac:
        return None
    w, h = size
    return (round(frac[0] * w, 2), round(frac[1] * h, 2), round(frac[2] * w, 2), round(frac[3] * h, 2))


def map_page(page: dict[str, Any], engine: str, size: tuple[float, float], base: Page | None = None) -> Page:
    """One neutral page -> Page. With `base` (our page), kind/size/rotation/blocks are kept and the words replaced."""
    words = []
    lines = page.get("word_lines") or [0] * len(page.get("words", []))
    for text, frac, conf, line in zip(page.get("words", []), page.get("bboxes", []), page.get("confidences", []), lines):
        words.append(Word(text=text, bbox=to_points(frac, size) or (0.0, 0.0, 0.0, 0.0),
                          conf=max(0.0, min(1.0, float(conf))), line=max(0, int(line))))
    mean = sum(w.conf for w in words) / len(words) if words else None
    fields = {"text": page.get("text", ""), "words": words, "engine": engine,
              "mean_conf": round(mean, 4) if mean is not None else None}
    if base is not None:
        return base.model_copy(update=fields)
    return Page(page_no=int(page.get("page_no", 1)), kind=PageKind.scanned, width=size[0], height=size[1], **fields)


def map_tables(page: dict[str, Any], page_no: int, size: tuple[float, float], engine: str,
               start_index: int = 0) -> list[Table]:
    return [Table(page_no=page_no, bbox=to_points(t.get("bbox"), size), rows=t.get("rows") or [], method=engine,
                  index=start_index + i) for i, t in enumerate(page.get("tables") or [])]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9#]+", "_", text.lower()).strip("_")


def map_key_values(page: dict[str, Any], page_no: int, size: tuple[float, float], engine: str,
                   aliases: dict[str, list[str]] | None = None) -> list[ExtractedField]:
    """Key-value pairs -> fields (source=cloud). A key matching an alias takes our field name; others keep the
    slug of their key text, so nothing the vendor found is lost."""
    by_alias = {a: name for name, al in (aliases or {}).items() for a in al}
    out = []
    for kv in page.get("key_values") or []:
        value = (kv.get("value") or "").strip()
        if not value:
            continue
        key_slug = slug(kv.get("key") or "")
        name = by_alias.get(key_slug, key_slug or "unnamed")
        out.append(ExtractedField(name=name, value=value, confidence=max(0.0, min(1.0, float(kv.get("confidence", 0)))),
                                  page_no=page_no, bbox=to_points(kv.get("value_bbox") or kv.get("key_bbox"), size),
                                  source=FieldSource.cloud, evidence=f"{kv.get('key', '')}: {value}", engine=engine))
    return out


def map_result(result: dict[str, Any], base_pages: dict[int, Page] | None = None,
               page_map: dict[int, int] | None = None, aliases: dict[str, list[str]] | None = None,
               assume_dpi: float = 200.0) -> tuple[list[Page], list[Table], list[ExtractedField]]:
    """Whole adapter result -> (pages, tables, fields). page_map renumbers vendor pages (a single page sent on its own
    comes back as page 1) to our page numbers."""
    engine = (result.get("meta") or {}).get("engine", "cloud")
    base_pages = base_pages or {}
    pages, tables, fields = [], [], []
    for p in result.get("pages") or []:
        n = (page_map or {}).get(int(p.get("page_no", 1)), int(p.get("page_no", 1)))
        base = base_pages.get(n)
        size = (base.width, base.height) if base else page_size_points(p, None, assume_dpi)
        page = map_page(p, engine, size, base)
        pages.append(page.model_copy(update={"page_no": n}))
        tables.extend(map_tables(p, n, size, engine, start_index=len(tables)))
        fields.extend(map_key_values(p, n, size, engine, aliases))
    return pages, tables, fields
