"""How well the words the pipeline reads from PDF text layers (pdf_pages.text_layer_words, what `ocr_text` gives
native pages) agree with pdfplumber's extract_words on the same pages, per top-level folder:

    python -m doc_pipeline_tests.bench.text_layer_check ../shared/corpus

Order-free token precision / recall / F1 against pdfplumber's words. pdfplumber is a second reader, not ground
truth (it reads a sideways table reversed, for one), but on upright born-digital pages two good readers agree to
within a point, and a broken word rule (letters split apart, words run together) shows at once.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    import pdfplumber
    import pypdfium2 as pdfium

    from doc_pipeline.core.pdf_pages import text_layer_words

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path)
    args = ap.parse_args(argv)
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for path in sorted(args.folder.rglob("*.pdf")):
        try:
            plumber, doc = pdfplumber.open(path), pdfium.PdfDocument(str(path))
        except Exception as exc:  # noqa: BLE001 - a broken file: nothing to compare
            print(f"skipped {path}: {exc}", file=sys.stderr)
            continue
        group = path.relative_to(args.folder).parts[0]
        with plumber:
            for i in range(len(doc)):
                ours = collections.Counter(w.text for w in text_layer_words(doc[i]))
                theirs = collections.Counter(w["text"] for w in plumber.pages[i].extract_words())
                for c in (counts[group], counts["ALL"]):
                    c["match"] += sum((ours & theirs).values())
                    c["ours"] += sum(ours.values())
                    c["pdfplumber"] += sum(theirs.values())
        doc.close()
    for group, c in sorted(counts.items(), key=lambda kv: (kv[0] == "ALL", kv[0])):
        p, r = c["match"] / max(1, c["ours"]), c["match"] / max(1, c["pdfplumber"])
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        print(f"{group:24} words {c['ours']:7d} pdfplumber {c['pdfplumber']:7d}  P {100 * p:5.1f}  R {100 * r:5.1f}"
              f"  F1 {100 * f1:5.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
