"""The perf suite: `python -m doc_pipeline_tests.bench [--quick] [--only a,b] [--out DIR]` (make bench / bench-quick).

Generates its own inputs, runs every baseline beside the pipeline in the same run and prints one line per target:
`<target> <measured> <ratio> PASS|FAIL` (ratio "-" where the target is an absolute limit and none applies).
Details (per size, per stage) follow as lines starting with '#'; everything is also written under --out:
results.json, targets.csv, stage_cpu_per_page.csv and each pipeline run's per-document report.csv.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
import traceback
from dataclasses import asdict
from pathlib import Path

from doc_pipeline_tests.bench.runner import STAGES

SIZES = {
    "full": {"scanned": (6, 5), "native": (20, 3), "burst": 200, "large": [50, 200, 500],
             "many": {"docs": 10_000, "materialised": 1000, "clients": 50, "requests_each": 40}},
    "quick": {"scanned": (2, 2), "native": (3, 2), "burst": 6, "large": [4, 8, 16],
              "many": {"docs": 2_000, "materialised": 200, "clients": 50, "requests_each": 10}},
}
TARGETS = ("scanned", "native", "burst", "large", "many")


def stage_cpu_rows(runs: dict[str, list]) -> list[dict]:
    """CPU and wall seconds per page per stage, per benchmark and document kind (target 6)."""
    out = []
    for bench, prs in runs.items():
        by_kind: dict[str, list[dict]] = {}
        for pr in prs:
            for row in pr.rows:
                by_kind.setdefault(row["kind"] or "?", []).append(row)
        for kind, rows in by_kind.items():
            pages = sum(int(r["pages"]) for r in rows) or 1
            rec = {"benchmark": bench, "kind": kind, "docs": len(rows), "pages": pages}
            for st in STAGES:
                rec[f"cpu_per_page_{st}"] = round(sum(float(r[f"cpu_{st}"] or 0) for r in rows) / pages, 4)
            for st in STAGES:
                rec[f"sec_per_page_{st}"] = round(sum(float(r[f"sec_{st}"] or 0) for r in rows) / pages, 4)
            rec["sec_per_page_outside_stages"] = round(sum(float(r["seconds_outside_stages"]) for r in rows) / pages, 4)
            rec["cpu_per_page_total"] = round(sum(float(r["cpu_total"]) for r in rows) / pages, 4)
            rec["sec_per_page_total"] = round(sum(float(r["seconds_total"]) for r in rows) / pages, 4)
            # the share of the cores the run kept busy in each stage (the run's, not the kind's: kinds share steps)
            busy = [pr.busy for pr in prs if getattr(pr, "busy", None)]
            for st in (*STAGES, "all_steps"):
                vals = [b[st] for b in busy if st in b]
                rec[f"busy_cores_{st}"] = round(sum(vals) / len(vals), 3) if vals else ""
            out.append(rec)
    return out


def write_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m doc_pipeline_tests.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: a few minutes")
    ap.add_argument("--only", default="", help=f"comma-separated subset of {','.join(TARGETS)}")
    ap.add_argument("--out", type=Path, default=None, help="results folder (default: a new temp folder)")
    ap.add_argument("--burst", type=int, default=0, help="override: documents in the burst")
    ap.add_argument("--large", default="", help="override: page counts of the large documents, e.g. 10,50")
    ap.add_argument("--many", type=int, default=0, help="override: documents known for the many-documents target")
    ap.add_argument("--rounds", type=int, default=0,
                    help="scanned and native: alternations of baseline and pipeline runs, the median ratio reported "
                         "(default: scanned 2, native 3; quick 1)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target FAILs")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    mode = "quick" if args.quick else "full"
    sizes = {**SIZES[mode], "many": dict(SIZES[mode]["many"])}
    if args.burst:
        sizes["burst"] = args.burst
    if args.large:
        sizes["large"] = [int(n) for n in args.large.split(",")]
    if args.many:
        sizes["many"]["docs"] = args.many
    only = [t.strip() for t in args.only.split(",") if t.strip()] or list(TARGETS)
    unknown = set(only) - set(TARGETS)
    if unknown:
        ap.error(f"unknown targets {sorted(unknown)}; choose from {', '.join(TARGETS)}")
    out = args.out or Path(tempfile.mkdtemp(prefix=f"docpipe-bench-{mode}-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"# doc-pipeline perf suite, {mode} mode, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, "
          f"results in {out}", flush=True)
    results, runs, errors = [], {}, {}
    t_all = time.perf_counter()
    for target in only:
        t0 = time.perf_counter()
        work = out / target
        try:
            if target == "scanned":
                from doc_pipeline.settings import Settings
                from doc_pipeline_tests.bench import scanned

                got, prs = scanned.run(work, *sizes["scanned"], dpi=Settings().render_dpi,
                                       rounds=args.rounds or (1 if args.quick else 2))
                runs[target], runs["scanned_text_only"] = prs[:1], prs[1:]  # per-stage CPU per profile
            elif target == "native":
                from doc_pipeline_tests.bench import native

                got, pr = native.run(work, *sizes["native"], rounds=args.rounds or (1 if args.quick else 3))
                runs[target] = [pr]
            elif target == "burst":
                from doc_pipeline_tests.bench import burst

                got = [burst.run(work, sizes["burst"])]
            elif target == "large":
                from doc_pipeline_tests.bench import large

                got, runs[target] = large.run(work, sizes["large"])
            else:
                from doc_pipeline_tests.bench import many_docs

                got = many_docs.run(work, **sizes["many"])
        except Exception as exc:  # one broken target must not hide the others' figures
            errors[target] = f"{type(exc).__name__}: {exc}"
            (out / f"{target}.error.txt").write_text(traceback.format_exc())
            print(f"{target} ERROR - FAIL  # {errors[target][:300]}", flush=True)
            continue
        for r in got:
            results.append(r)
            print(r.line(), flush=True)
            print(f"#   {r.goal}; baseline {r.baseline if r.baseline is None else round(r.baseline, 4)} {r.unit}; "
                  f"{json.dumps(r.notes)}  ({time.perf_counter() - t0:.0f}s)", flush=True)
    stage_rows = stage_cpu_rows(runs)
    for rec in stage_rows:
        cpu = " ".join(f"{st}={rec[f'cpu_per_page_{st}']:.3f}" for st in STAGES)
        print(f"# cpu s/page {rec['benchmark']}/{rec['kind']} ({rec['pages']}p): {cpu} total={rec['cpu_per_page_total']:.3f}")
        busy = " ".join(f"{st}={rec[f'busy_cores_{st}']}" for st in (*STAGES, "all_steps")
                        if rec[f"busy_cores_{st}"] != "")
        if busy:
            print(f"# busy share of the cores {rec['benchmark']}/{rec['kind']}: {busy}")
    write_csv(out / "stage_cpu_per_page.csv", stage_rows)
    write_csv(out / "targets.csv", [{"target": r.target, "measured": round(r.measured, 4), "unit": r.unit,
                                     "baseline": "" if r.baseline is None else round(r.baseline, 4),
                                     "ratio": "" if r.ratio is None else round(r.ratio, 4),
                                     "result": "PASS" if r.passed else "FAIL", "goal": r.goal} for r in results])
    (out / "results.json").write_text(json.dumps({
        "mode": mode, "cpus": os.cpu_count(), "seconds": round(time.perf_counter() - t_all, 1),
        "targets": [asdict(r) for r in results], "errors": errors, "stage_cpu_per_page": stage_rows}, indent=2))
    print(f"# done in {time.perf_counter() - t_all:.0f}s; {out / 'results.json'}", flush=True)
    failed = bool(errors) or not all(r.passed for r in results)
    return 1 if failed and args.strict else (2 if errors else 0)


if __name__ == "__main__":
    sys.exit(main())
