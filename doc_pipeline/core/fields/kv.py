"""Layout-aware key-value pairing: a label and the value to its right on the same line or just below it;
table headers to their cells. Works on word boxes, so it is the same for OCR and text-layer pages."""

from __future__ import annotations

import re
from dataclasses import dataclass

from doc_pipeline.core.models import ExtractedField, FieldSource, Page, Table, Word

from .calibration import calibrate
from .layout_text import group_lines, union_bbox

ENGINE = "layout-kv"


@dataclass
class Phrase:
    words: list[Word]
    page_no: int

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def bbox(self):
        return union_bbox([w.bbox for w in self.words])

    @property
    def conf(self) -> float:
        return sum(w.conf for w in self.words) / len(self.words)


def phrases(page: Page) -> list[list[Phrase]]:
    """Each visual line split into phrases at wide horizontal gaps (columns / label-value gaps)."""
    out = []
    for line in group_lines(page.words):
        h = sorted(w.bbox[3] - w.bbox[1] for w in line)[len(line) // 2] or 8.0
        cur = [line[0]]
        row: list[Phrase] = []
        for prev, w in zip(line, line[1:]):
            if w.bbox[0] - prev.bbox[2] > 1.5 * h or prev.text.endswith(":"):
                row.append(Phrase(cur, page.page_no))
                cur = []
            cur.append(w)
        row.append(Phrase(cur, page.page_no))
        out.append(row)
    return out


def _is_key(p: Phrase) -> bool:
    t = p.text.strip()
    return t.endswith(":") and 1 <= len(t.rstrip(":").strip()) <= 60 and any(c.isalpha() for c in t)


def _under_key(q: Phrase, above: list[Phrase], kh: float) -> bool:
    """True when ``q`` sits right under a label of the line above (it is that label's value)."""
    return any(_is_key(k) and k.bbox[0] < q.bbox[2] and q.bbox[0] < k.bbox[2] and q.bbox[1] - k.bbox[3] < 2.5 * kh
               for k in above)


def _caps_label(p: Phrase) -> bool:
    letters = [c for c in p.text if c.isalpha()]
    return len(letters) >= 3 and all(c.isupper() for c in letters) and len(p.words) <= 6


def _pair(key: Phrase, value: Phrase, conf: float, page_no: int) -> ExtractedField:
    return ExtractedField(
        name=key_name(key.text), value=value.text, normalized=value.text,
        confidence=round(calibrate(conf * (0.5 + 0.5 * min(key.conf, value.conf)), "kv"), 4), page_no=page_no,
        bbox=union_bbox([key.bbox, value.bbox]), source=FieldSource.kv, evidence=f"{key.text} {value.text}",
        engine=ENGINE)


def key_name(text: str) -> str:
    """Normalised key text: colon and surrounding space removed, whitespace collapsed, lower-cased."""
    return re.sub(r"\s+", " ", text).strip().rstrip(":").strip().lower()


def kv_pairs(pages: list[Page]) -> list[ExtractedField]:
    fields: list[ExtractedField] = []
    for page in pages:
        rows = phrases(page)
        for ri, row in enumerate(rows):
            for pi, ph in enumerate(row):
                text = ph.text
                if not _is_key(ph):
                    # printed upper-case label with a differently written (typed/handwritten) value to its right
                    right = row[pi + 1] if pi + 1 < len(row) else None
                    if right is not None and _caps_label(ph) and not _caps_label(right) and not _is_key(right) \
                            and right.bbox[0] - ph.bbox[2] < 20 * max(ph.bbox[3] - ph.bbox[1], 1.0) \
                            and not _under_key(right, rows[ri - 1] if ri else [], ph.bbox[3] - ph.bbox[1]):
                        fields.append(_pair(ph, right, 0.45, page.page_no))
                    continue
                value: Phrase | None = None
                conf = 0.0
                kx0, ky0, kx1, ky1 = ph.bbox
                kh = max(ky1 - ky0, 1.0)
                # right of the key, same line, not itself a key
                right = row[pi + 1] if pi + 1 < len(row) else None
                if (right is not None and not _is_key(right) and right.bbox[0] - kx1 < 25 * kh
                        and not _under_key(right, rows[ri - 1] if ri else [], kh)):
                    value, conf = right, 0.75
                else:
                    # below: the next line's phrase overlapping the key horizontally, close vertically
                    for nrow in rows[ri + 1: ri + 3]:
                        cands = [q for q in nrow if q.bbox[0] < kx1 + 2 * kh and q.bbox[2] > kx0 - kh
                                 and q.bbox[1] - ky1 < 2.5 * kh]
                        if cands:
                            q = cands[0]
                            if not _is_key(q):
                                value, conf = q, 0.55
                            break
                if value is None:
                    continue
                fields.append(_pair(ph, value, conf, page.page_no))
    return fields


def table_pairs(tables: list[Table]) -> list[ExtractedField]:
    """Header -> cell pairs from simple tables: a header row with one data row, or two-column key|value tables."""
    out: list[ExtractedField] = []
    for t in tables:
        rows = [r for r in t.rows if any(c.strip() for c in r)]
        if len(rows) == 2 and len(rows[0]) == len(rows[1]):
            pairs = list(zip(rows[0], rows[1]))
        elif rows and all(len(r) == 2 for r in rows):
            pairs = [(r[0], r[1]) for r in rows]
        else:
            continue
        for k, v in pairs:
            if k.strip() and v.strip():
                out.append(ExtractedField(name=key_name(k), value=v.strip(), normalized=v.strip(), confidence=0.6,
                                          page_no=t.page_no, bbox=t.bbox, source=FieldSource.kv,
                                          evidence=f"{k} {v}", engine="table-kv"))
    return out
