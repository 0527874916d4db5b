"""How often the glyph-baseline test (preprocess.clearly_upright) lets a page skip Tesseract OSD, and that it never
does so for a turned page: every page image of the chosen corpus datasets, upright and turned by 90/180/270.

    .venv/bin/python scripts/orientation_eval.py ../shared/corpus --dataset sroie --dataset funsd \
        --dataset publaynet_layout --dataset docbank_layout
    .venv/bin/python scripts/orientation_eval.py ../shared/corpus --dataset icdar2013_tables --dataset pdf_kind_ocrmypdf

Image datasets are read as they are; PDF datasets by their first page rendered at 150 dpi (grey)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from PIL import Image

from doc_pipeline.core.preprocess import clearly_upright, estimate_skew

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff"}


def page_images(folder: Path):
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            yield path.name, Image.open(path).convert("L")
        elif path.suffix.lower() == ".pdf":
            import pypdfium2 as pdfium

            try:
                pdf = pdfium.PdfDocument(str(path))
                image = pdf[0].render(scale=150 / 72, grayscale=True).to_pil().convert("L")
                pdf.close()
            except Exception as exc:  # noqa: BLE001 - an unreadable file is reported and skipped
                print(f"  skipped {path.name}: {exc}")
                continue
            yield path.name, image


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--dataset", action="append", required=True)
    args = ap.parse_args()
    total_up = total_pages = total_false = total_turned = 0
    for name in args.dataset:
        up = pages = false = turned = 0
        seconds = 0.0
        for file_name, image in page_images(args.corpus / name):
            for turn in (0, 90, 180, 270):
                page = image.rotate(turn, expand=True, fillcolor=255) if turn else image
                t0 = time.process_time()
                decided = clearly_upright(page, estimate_skew(page))
                seconds += time.process_time() - t0
                if turn == 0:
                    pages, up = pages + 1, up + decided
                else:
                    turned, false = turned + 1, false + decided
                    if decided:
                        print(f"  TURNED PAGE TAKEN AS UPRIGHT: {file_name} turned {turn}")
        print(f"{name}: upright pages skipping OSD {up}/{pages}; turned pages taken as upright {false}/{turned}; "
              f"{1000 * seconds / max(1, pages + turned):.1f} ms CPU per page (skew + test)")
        total_up, total_pages, total_false, total_turned = (total_up + up, total_pages + pages, total_false + false,
                                                            total_turned + turned)
    print(f"all: upright pages skipping OSD {total_up}/{total_pages}; turned pages taken as upright "
          f"{total_false}/{total_turned}")


if __name__ == "__main__":
    main()
