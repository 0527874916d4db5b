"""Words with boxes -> geometric lines and one searchable text with a char-offset -> word map.

Every extractor works on this text (regexes, spaCy) and maps a character span back to the words it covers, so
each field gets its page number and the union bbox of its words (provenance).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from doc_pipeline.core.models import BBox, Page, Word


@dataclass
class LineWords:
    page_no: int
    words: list[Word]
    start: int = 0  # char offset of the line in DocText.text
    offsets: list[tuple[int, int]] = field(default_factory=list)  # per word, in DocText.text

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def bbox(self) -> BBox:
        return union_bbox([w.bbox for w in self.words])

    @property
    def y0(self) -> float:
        return min(w.bbox[1] for w in self.words)

    @property
    def y1(self) -> float:
        return max(w.bbox[3] for w in self.words)

    @property
    def height(self) -> float:
        return max(1.0, sorted(w.bbox[3] - w.bbox[1] for w in self.words)[len(self.words) // 2])


def union_bbox(boxes: list[BBox]) -> BBox:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def group_lines(words: list[Word]) -> list[list[Word]]:
    """Cluster words into visual lines by vertical overlap, each line left to right, lines top to bottom.

    Geometric rather than the engine's line ids, so native (pdfplumber) and OCR words behave the same.
    """
    ws = sorted((w for w in words if w.text.strip()), key=lambda w: ((w.bbox[1] + w.bbox[3]) / 2, w.bbox[0]))
    lines: list[list[Word]] = []
    spans: list[tuple[float, float]] = []
    for w in ws:
        y0, y1 = w.bbox[1], w.bbox[3]
        h = max(y1 - y0, 0.1)
        placed = False
        # look back only at the last few lines: words are sorted by centre
        for i in range(len(lines) - 1, max(-1, len(lines) - 4), -1):
            ly0, ly1 = spans[i]
            overlap = min(y1, ly1) - max(y0, ly0)
            if overlap >= 0.5 * min(h, ly1 - ly0):
                lines[i].append(w)
                spans[i] = (min(ly0, y0), max(ly1, y1)) if overlap > 0.8 * h else spans[i]
                placed = True
                break
        if not placed:
            lines.append([w])
            spans.append((y0, y1))
    for ln in lines:
        ln.sort(key=lambda w: w.bbox[0])
    order = sorted(range(len(lines)), key=lambda i: (spans[i][0] + spans[i][1]) / 2)
    return [lines[i] for i in order]


class DocText:
    """All pages' lines as one text ("\\n" between lines, "\\f" between pages) with offsets back to words."""

    def __init__(self, pages: list[Page]):
        self.pages = pages
        self.lines: list[LineWords] = []
        parts: list[str] = []
        pos = 0
        for page in pages:
            words = page.words
            if not words and page.text:
                # a page with text but no words (should not happen): keep its text without provenance
                parts.append(page.text + "\f")
                pos += len(page.text) + 1
                continue
            for lw in group_lines(words):
                line = LineWords(page.page_no, lw, start=pos)
                for i, w in enumerate(lw):
                    if i:
                        parts.append(" ")
                        pos += 1
                    line.offsets.append((pos, pos + len(w.text)))
                    parts.append(w.text)
                    pos += len(w.text)
                parts.append("\n")
                pos += 1
                self.lines.append(line)
            parts.append("\f")
            pos += 1
        self.text = "".join(parts)
        self._line_starts = [ln.start for ln in self.lines]

    def words_in_span(self, start: int, end: int) -> tuple[int | None, list[Word]]:
        """The page number and words overlapping text[start:end]."""
        import bisect

        i = bisect.bisect_right(self._line_starts, start) - 1
        out: list[Word] = []
        page_no = None
        while 0 <= i < len(self.lines) and self.lines[i].start < end:
            ln = self.lines[i]
            for (s, e), w in zip(ln.offsets, ln.words):
                if s < end and start < e:
                    out.append(w)
                    page_no = page_no or ln.page_no
            i += 1
        return page_no, out

    def provenance(self, start: int, end: int) -> tuple[int | None, BBox | None, float]:
        """(page_no, union bbox, mean word confidence) of text[start:end]."""
        page_no, ws = self.words_in_span(start, end)
        if not ws:
            return page_no, None, 1.0
        return page_no, union_bbox([w.bbox for w in ws]), sum(w.conf for w in ws) / len(ws)

    def line_at(self, pos: int) -> int:
        import bisect

        return max(0, bisect.bisect_right(self._line_starts, pos) - 1)
