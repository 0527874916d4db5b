"""Benchmark the real pipeline over a folder of documents: one CSV row per document.

    python doc_pipeline_tests/benchmark.py FOLDER --out report.csv [--home DIR] [--summary summary.json]

Each document goes through raw/ and in-process Dagster runs over batches of documents (--batch, default
DOCPIPE_RUN_BATCH_SIZE; 1 = one run per document), as `doc-pipeline process` does, in a fresh DOCPIPE_HOME (a new temp folder unless --home). Columns: pages, kind, status, wall and CPU seconds in total and
per stage (sec_*, cpu_*, cpu_per_page_*), seconds outside the stages (Dagster + ingest + result), mean OCR
confidence of scanned pages, fields and tables found, flagged. See docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from doc_pipeline_tests.bench.runner import (list_documents, process_folder, use_fresh_home,  # noqa: E402
                                             write_csv, write_summary)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--out", type=Path, default=Path("report.csv"), help="CSV, one row per document")
    ap.add_argument("--home", type=Path, default=None, help="DOCPIPE_HOME to use (default: a new temp folder)")
    ap.add_argument("--summary", type=Path, default=None, help="also write run totals as JSON here")
    ap.add_argument("--batch", type=int, default=None,
                    help="documents per Dagster run (default DOCPIPE_RUN_BATCH_SIZE; 1 = one run per document)")
    ap.add_argument("--workers", type=int, default=None,
                    help="worker processes the runs are forked into (default DOCPIPE_PROCESS_WORKERS; 1 = this process)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if not args.folder.is_dir():
        ap.error(f"{args.folder} is not a folder")
    if not list_documents(args.folder):
        ap.error(f"no documents (pdf/png/jpg/tiff/webp/bmp) under {args.folder}")
    use_fresh_home(args.home)

    def progress(row) -> None:
        if not args.quiet:
            print(f"{row.status:7} {row.kind:8} {row.pages:4d}p {row.seconds_total:7.2f}s cpu {row.cpu_total:7.2f}s"
                  f"  {Path(row.file).name}", file=sys.stderr, flush=True)

    rows, summary = process_folder(args.folder, progress=progress, batch_size=args.batch, workers=args.workers)
    write_csv(rows, args.out)
    if args.summary:
        write_summary(summary, args.summary)
    print(json.dumps(summary))
    return 0 if summary["failed"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
