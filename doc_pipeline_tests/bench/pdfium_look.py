"""Check the tables step's PDFium look (pdf_pages.ruled_look, pdf_pages.sideways_share) against pdfplumber
on every page of every PDF under a folder, and time both:

    python -m doc_pipeline_tests.bench.pdfium_look ../shared/corpus

A page the look would skip while pdfplumber's lines strategy finds a table of 2 x 2 cells or more there is a
`MISS` (must be none: the skip would lose a table); `SIDEWAYS` is a page where the two disagree on sideways text.
Prints per dataset folder how many pages each side would parse, and the seconds each took.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    import pdfplumber
    import pypdfium2 as pdfium

    from doc_pipeline.core.pdf_pages import ruled_look, sideways_share
    from doc_pipeline.core.table_native import rotated_text_share

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path)
    args = ap.parse_args(argv)
    counts: collections.Counter = collections.Counter()
    look_s = plumber_s = 0.0
    misses = 0
    for path in sorted(args.folder.rglob("*.pdf")):
        try:
            plumber, doc = pdfplumber.open(path), pdfium.PdfDocument(str(path))
        except Exception as exc:  # noqa: BLE001 - a broken file of the corpus: nothing to compare
            print(f"skipped {path}: {exc}", file=sys.stderr)
            continue
        group = path.relative_to(args.folder).parts[0]
        with plumber:
            for i in range(len(doc)):
                t0 = time.perf_counter()
                page = doc[i]
                textpage = page.get_textpage()
                grid, share = ruled_look(page).possible, sideways_share(textpage)
                textpage.close()
                page.close()
                look_s += time.perf_counter() - t0
                t0 = time.perf_counter()
                pp = plumber.pages[i]
                found = pp.find_tables({"vertical_strategy": "lines", "horizontal_strategy": "lines"})
                table = any(len(t.rows) >= 2 and len(t.columns) >= 2 for t in found)
                plumber_share = rotated_text_share(pp)
                pp.close()
                plumber_s += time.perf_counter() - t0
                counts[(group, "pages")] += 1
                counts[(group, "grid by pdfplumber")] += table
                counts[(group, "grid possible by PDFium")] += grid
                if table and not grid:
                    misses += 1
                    print(f"MISS {path} page {i + 1}")
                if (plumber_share > 0.5) != (share > 0.5):
                    print(f"SIDEWAYS {path} page {i + 1}: pdfplumber {plumber_share:.2f}, PDFium {share:.2f}")
        doc.close()
    for (group, what), n in sorted(counts.items()):
        print(f"{group:24} {what:24} {n}")
    pages = sum(n for (g, w), n in counts.items() if w == "pages")
    print(f"pages {pages}  misses {misses}  PDFium look {look_s:.2f} s ({look_s / max(1, pages) * 1000:.1f} ms/page)"
          f"  pdfplumber parse + lines tables {plumber_s:.2f} s ({plumber_s / max(1, pages) * 1000:.1f} ms/page)")
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
