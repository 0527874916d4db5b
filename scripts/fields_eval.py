"""Development measurement of field extraction on the shared corpus (not part of the pipeline).

Builds Page objects without the pipeline (pdfplumber words for native PDFs, Tesseract for images; cached as JSON
under --cache), runs ``extract_fields`` and scores with the project's evaluation scoring:

    .venv/bin/python scripts/fields_eval.py [--corpus ../shared/corpus] [--datasets sroie,...] [--oracle-words]

Prints micro-F1 per dataset, doc_type accuracy, FUNSD pair F1 and the ECE of the reported confidences.
``--oracle-words`` builds FUNSD pages from the ground-truth words (isolates pairing quality from OCR errors).

Refit the shipped confidence maps (logistic per group, OCR-family offsets, documents weighted by their measured
within-document correlation) and print the cross-fitted ECE (fixed 2-fold split and 20 random splits):

    nice -n 10 .venv/bin/python scripts/fields_eval.py --ocr tesseract,rapidocr --cache DIR \
        --fit-calibration doc_pipeline/core/fields/calibration.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

from doc_pipeline.core.fields import extract_fields
from doc_pipeline.core.fields import calibration
from doc_pipeline.core.fields.calibration import expected_calibration_error, fit_isotonic, reliability_table
from doc_pipeline.core.models import DocumentResult, DocStatus, FieldSource, Page, PageKind, Word
from doc_pipeline.evaluation import metrics as m
from doc_pipeline.evaluation import scoring
from doc_pipeline.evaluation.corpus import iter_documents

DATASETS = ("sroie", "invoices_invoice2data", "kleister_nda", "funsd")
EXPECTED_TYPE = {"sroie": "receipt", "invoices_invoice2data": "invoice", "kleister_nda": "contract", "funsd": "form"}
IMAGE_DPI = 300  # SROIE/FUNSD scans carry no DPI; any fixed value gives consistent point boxes


def pdf_pages(path: Path) -> list[Page]:
    import pdfplumber

    pages = []
    with pdfplumber.open(path) as pdf:
        for i, p in enumerate(pdf.pages, 1):
            words = [Word(text=w["text"], bbox=(w["x0"], w["top"], w["x1"], w["bottom"]), conf=1.0)
                     for w in p.extract_words(keep_blank_chars=False, use_text_flow=False)]
            pages.append(Page(page_no=i, kind=PageKind.native, width=float(p.width), height=float(p.height),
                              words=words, text=" ".join(w.text for w in words), engine="pdfplumber"))
    return pages


def image_pages(path: Path, engine: str = "tesseract") -> list[Page]:
    from PIL import Image

    from doc_pipeline.core.ocr import get_engine
    from doc_pipeline.core.ocr.base import words_to_points

    os.environ.setdefault("TESSDATA_PREFIX", "/usr/share/tesseract-ocr/5/tessdata")
    img = Image.open(path).convert("RGB")
    words = words_to_points(get_engine(engine).recognize(img, IMAGE_DPI), IMAGE_DPI)
    s = 72.0 / IMAGE_DPI
    return [Page(page_no=1, kind=PageKind.scanned, width=img.width * s, height=img.height * s, words=words,
                 text=" ".join(w.text for w in words), engine=engine)]


def oracle_pages(gt: dict, path: Path) -> list[Page]:
    from PIL import Image

    img = Image.open(path)
    s = 72.0 / IMAGE_DPI
    words = [Word(text=w["text"], bbox=tuple(v * s for v in w["box"]), conf=1.0) for w in gt["words"] if w["text"]]
    return [Page(page_no=1, kind=PageKind.scanned, width=img.width * s, height=img.height * s, words=words)]


def load_pages(doc, cache: Path, oracle: bool, engine: str = "tesseract") -> list[Page]:
    if oracle and doc.dataset == "funsd":
        return oracle_pages(doc.gt, doc.path)
    f = cache / doc.dataset / f"{doc.id}.json"
    if f.exists():
        return [Page.model_validate(p) for p in json.loads(f.read_text())]
    pages = pdf_pages(doc.path) if doc.path.suffix.lower() == ".pdf" else image_pages(doc.path, engine)
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(json.dumps([p.model_dump(mode="json") for p in pages]))
    return pages


def _crossfit_isotonic(calib_groups, calib_docs, fold_of) -> list[tuple[float, bool, str]]:
    """(calibrated confidence, correct, OCR family) of every field, each scored by an isotonic map fitted on the
    documents of the other fold (per OCR family where ``--calibration-by-ocr`` fitted one)."""
    from doc_pipeline.core.fields.calibration import apply_map

    held: list[tuple[float, bool, str]] = []
    fitted = {g for g, p in calib_groups.items() if len(p) >= 20}
    for g, pairs in calib_groups.items():
        if "@" not in g:  # score each field once: with its family's map when that one is fitted
            fams_fitted = {x.split("@")[1] for x in fitted if x.startswith(g + "@")}
            keep = [i for i, d in enumerate(calib_docs[g]) if d.split("|", 1)[0] not in fams_fitted]
            pairs = [pairs[i] for i in keep]
            docs_g = [calib_docs[g][i] for i in keep]
        else:
            docs_g = calib_docs[g]
        fold = [fold_of(d.split("|")[1]) for d in docs_g]  # a document's OCR variants together
        for k in (0, 1):
            train = [p for p, f in zip(pairs, fold) if f != k]
            if len(train) < 20:
                continue
            knots = fit_isotonic(train)
            for (c, ok), f, d in zip(pairs, fold, docs_g):
                if f == k:  # as calibrate() applies the map
                    held.append((max(0.01, min(0.99, 0.97 * apply_map(knots, c) + 0.03 * c)), ok, d.split("|")[2]))
    return held


def _crossfit_logistic(records, fold_of, by_document: bool = True) -> list[tuple[float, bool, str]]:
    """As ``_crossfit_isotonic`` for the logistic maps (one per group, OCR-family offsets; with ``by_document``
    each document's fields weighted by the within-document correlation, as shipped)."""
    from doc_pipeline.core.fields.calibration import apply_logistic, fit_logistic

    held: list[tuple[float, bool, str]] = []
    for g in sorted({r["group"] for r in records}):
        rs = [r for r in records if r["group"] == g]
        for k in (0, 1):
            tr = [r for r in rs if fold_of(r["doc"]) != k]
            train = [(r["conf"], r["ok"], r["family"]) for r in tr]
            if len(train) < 20:
                continue
            model = fit_logistic(train, clusters=[r["doc"] for r in tr] if by_document else None)
            held += [(max(0.01, min(0.99, 0.97 * apply_logistic(model, r["conf"], r["family"]) + 0.03 * r["conf"])),
                      r["ok"], str(r["family"])) for r in rs if fold_of(r["doc"]) == k]
    return held


def fit_calibration(args, names, engines, calib_groups, calib_docs, records) -> None:
    """Fit the shipped confidence maps on the raw scores and print an honest (cross-fitted) ECE: maps fitted on
    the documents of one half, measured on the other half, both ways; a document's OCR variants stay together."""
    import hashlib
    import zlib

    from doc_pipeline.core.fields.calibration import fit_logistic

    logistic = args.calibration_method == "logistic"
    by_doc = args.calibration_weighting == "document"

    def crossfit(fold_of):
        if logistic:
            return _crossfit_logistic(records, fold_of, by_doc)
        return _crossfit_isotonic(calib_groups, calib_docs, fold_of)

    held = crossfit(lambda doc: zlib.crc32(doc.encode()) % 2)
    if held:
        pairs = [(c, ok) for c, ok, _ in held]
        print(f"cross-fitted ECE of the refitted {args.calibration_method} map (2 folds by document, "
              f"{len(held)} fields): {expected_calibration_error(pairs):.3f}")
        for row in reliability_table(pairs, bins=10):
            print("   ", row)
        for fam_name in sorted({f for _, _, f in held}):
            sel = [(c, ok) for c, ok, f in held if f == fam_name]
            label = "text layer" if fam_name == "None" else fam_name
            print(f"  cross-fitted ECE, {label} pages ({len(sel)} fields): {expected_calibration_error(sel):.3f}")
        # the one split above is one draw: the mean over 20 random document splits says how much luck is in it
        # (stratified: each dataset's documents shuffled and dealt to the two halves in turn)
        by_ds: dict[str, list[str]] = defaultdict(list)
        for r in records:
            if r["doc"] not in by_ds[r["dataset"]]:
                by_ds[r["dataset"]].append(r["doc"])
        eces = []
        for seed in range(1, 21):
            fold: dict[str, int] = {}
            for docs in by_ds.values():
                order = sorted(docs, key=lambda d: hashlib.md5(f"{d}{seed}".encode()).hexdigest())
                fold.update({d: i % 2 for i, d in enumerate(order)})
            h = crossfit(lambda doc, f=fold: f.get(doc, 0))
            eces.append(expected_calibration_error([(c, ok) for c, ok, _ in h]))
        print(f"  cross-fitted ECE over 20 random stratified 2-fold document splits: mean {sum(eces) / len(eces):.3f}, "
              f"median {sorted(eces)[len(eces) // 2]:.3f}, min {min(eces):.3f}, max {max(eces):.3f}")
    maps = {g: fit_isotonic(p) for g, p in calib_groups.items() if len(p) >= 20}
    out = {"fitted_on": names, "ocr": engines, "pairs": {g: len(p) for g, p in calib_groups.items()}, "maps": maps}
    if logistic:
        out["logistic"] = {g: fit_logistic([(r["conf"], r["ok"], r["family"]) for r in records if r["group"] == g],
                                           clusters=[r["doc"] for r in records if r["group"] == g] if by_doc else None)
                           for g in sorted({r["group"] for r in records})}
        out["logistic_weighting"] = args.calibration_weighting
    Path(args.fit_calibration).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.fit_calibration}: {', '.join(f'{g}={len(k)} knots' for g, k in maps.items())}"
          + (f"; logistic maps for {', '.join(out['logistic'])}" if logistic else ""))
    if logistic:
        for g, mdl in out["logistic"].items():
            print(f"  {g}: slope {mdl['slope']:.3f}, intercept {mdl['intercept']:.3f}, offsets "
                  + ", ".join(f"{f} {v:+.3f}" for f, v in mdl["family"].items())
                  + (f", within-document correlation rho {mdl['rho']:.3f}" if "rho" in mdl else ""))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "corpus"))
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--cache", default=os.environ.get("DOCPIPE_FIELDS_EVAL_CACHE", "/tmp/docpipe-fields-eval"),
                    help="where built pages (OCR results) are cached between runs")
    ap.add_argument("--oracle-words", action="store_true")
    ap.add_argument("--ocr", default="tesseract",
                    help="OCR engine(s) for image inputs (tesseract | rapidocr | tesseract,rapidocr: both, pooled)")
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("--fit-calibration", metavar="JSON", help="fit the isotonic map on raw scores and write it")
    ap.add_argument("--calibration-by-ocr", nargs="?", const="default,kv", default="", metavar="GROUPS",
                    help="with --fit-calibration: also fit one map per OCR family (group@tesseract, group@rapidocr) "
                         "for these groups (default: default,kv)")
    ap.add_argument("--calibration-method", choices=("logistic", "isotonic"), default="logistic",
                    help="with --fit-calibration: logistic maps with OCR-family offsets (shipped) or isotonic maps "
                         "(written either way, used when the file has no logistic maps)")
    ap.add_argument("--calibration-weighting", choices=("document", "none"), default="document",
                    help="with --calibration-method logistic: weight each field 1/(1+(n-1)rho), n its document's "
                         "field count, rho the measured within-document correlation (shipped), or all fields 1")
    ap.add_argument("--dump-calibration", metavar="JSONL",
                    help="write each scored field's (confidence, correct, group, document, OCR family, field "
                         "name) as JSON lines")
    ap.add_argument("--no-hint", action="store_true", help="(default) classify; --hint passes the expected type")
    ap.add_argument("--hint", action="store_true")
    args = ap.parse_args()
    names = [n for n in args.datasets.split(",") if n]
    if args.fit_calibration:  # score with the raw (uncalibrated) confidences
        calibration.CALIBRATION_FILE = Path("/nonexistent")
        calibration.shipped_map.cache_clear()
        calibration.shipped_logistic.cache_clear()
    engines = [e for e in args.ocr.split(",") if e]

    def cache_for(engine: str) -> Path:
        return Path(args.cache) if engine == "tesseract" else Path(args.cache) / engine

    per_ds: dict[str, m.PRCounts] = defaultdict(m.PRCounts)
    per_field: dict[str, m.PRCounts] = defaultdict(m.PRCounts)
    kv_counts, kv_fuzzy = m.PRCounts(), m.PRCounts()
    type_ok: dict[str, list[bool]] = defaultdict(list)
    calib: list[tuple[float, bool]] = []
    records: list[dict] = []  # --dump-calibration
    calib_groups: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    calib_docs: dict[str, list[str]] = defaultdict(list)
    doc_family: dict[str, str | None] = {}  # the document of each pair (for the cross-fitted ECE)
    t0 = time.time()
    runs = [(engine, doc) for i, engine in enumerate(engines) for doc in iter_documents(args.corpus, names)
            if i == 0 or doc.path.suffix.lower() != ".pdf"]  # PDFs have no OCR: once is enough
    for engine, doc in runs:
        pages = load_pages(doc, cache_for(engine), args.oracle_words, engine)
        # per-OCR calibration groups ("default@rapidocr", ...) only with --calibration-by-ocr
        fam = calibration.ocr_family(pages) if args.calibration_by_ocr else None
        split = set(args.calibration_by_ocr.split(","))
        true_fam = calibration.ocr_family(pages)  # for the per-OCR breakdown of the cross-fitted ECE
        expected = EXPECTED_TYPE[doc.dataset]
        t = time.time()
        fr = extract_fields(pages, doc_type_hint=expected if args.hint else None)
        secs = time.time() - t
        type_ok[doc.dataset].append(fr.doc_type == expected)
        res = DocumentResult(doc_id=doc.id, status=DocStatus.done, fields=fr.fields, doc_type=fr.doc_type)
        if doc.dataset == "funsd":
            gt_pairs = [(kv.get("key", ""), kv.get("value", "")) for kv in doc.gt.get("key_values") or []]
            pred = [(f.name, f.value) for f in fr.fields if f.source == FieldSource.kv]
            c = scoring.kv_counts(gt_pairs, pred)
            kv_counts += c
            kv_fuzzy += scoring.kv_counts(gt_pairs, pred, min_similarity=0.8)
            def cmp(s: str) -> str:
                return m.normalize_text_value(scoring.kv_compare_form(s))

            gn = {(cmp(k), cmp(v)) for k, v in gt_pairs}
            for f in fr.fields:
                if f.source == FieldSource.kv:
                    ok = (cmp(f.name), cmp(f.value)) in gn
                    calib.append((f.confidence, ok))
                    records.append({"conf": f.confidence, "ok": ok, "group": "kv", "doc": doc.id,
                                    "dataset": doc.dataset, "family": true_fam, "name": "kv"})
                    for g in ("kv", f"kv@{fam}") if fam and "kv" in split else ("kv",):
                        calib_groups[g].append((f.confidence, ok))
                        calib_docs[g].append(f"{fam}|{doc.id}|{true_fam}")
            if args.verbose:
                print(f"{doc.id:40s} type={fr.doc_type:14s} kv tp={c.tp} fp={c.fp} fn={c.fn} {secs:.2f}s")
            continue
        details = scoring.field_details(doc.dataset, doc.gt, res)
        gt_sets = scoring._gt_field_sets(doc.dataset, doc.gt)
        pred_sets = scoring._pred_field_sets(doc.dataset, res)
        for name, c in details.items():
            per_ds[doc.dataset] += c
            per_field[f"{doc.dataset}.{name}"] += c
        # calibration: each reported scored field, right or wrong
        rev = {v: k for k, v in scoring.FIELD_NAME_MAP.get(doc.dataset, {}).items()}
        for gname, gv in gt_sets.items():
            ours = [f for f in fr.fields if scoring.FIELD_NAME_MAP[doc.dataset].get(f.name) == gname]
            if doc.dataset not in scoring.MULTI_VALUED_DATASETS and ours:
                ours = [max(ours, key=lambda f: f.confidence)]
            kind = scoring.FIELD_KINDS.get(gname, "text")
            for f in ours:
                raw = f.normalized if kind != "text" and f.normalized not in (None, "") else f.value
                v = m.normalize_field(raw, kind, doc.dataset in scoring.DAYFIRST_DATASETS)
                calib.append((f.confidence, v in gv))
                records.append({"conf": f.confidence, "ok": v in gv, "group": "default", "doc": doc.id,
                                "dataset": doc.dataset, "family": true_fam, "field": gname, "name": f.name})
                for g in ("default", f"default@{fam}") if fam and "default" in split else ("default",):
                    calib_groups[g].append((f.confidence, v in gv))
                    calib_docs[g].append(f"{fam}|{doc.id}|{true_fam}")
        if args.verbose:
            bad = {k: (sorted(map(str, gt_sets[k])), sorted(map(str, pred_sets.get(k, set()))))
                   for k, c in details.items() if c.fp or c.fn}
            print(f"{doc.id:40s} type={fr.doc_type:14s} {secs:.2f}s wrong={bad}")
        _ = rev
    print(f"\n== fields eval ({time.time() - t0:.0f}s) corpus={args.corpus} oracle_words={args.oracle_words} ocr={args.ocr}")
    for ds, c in per_ds.items():
        print(f"{ds:24s} micro-F1 {(c.f1.value or 0):5.1f}  (tp={c.tp} fp={c.fp} fn={c.fn})")
    for k, c in sorted(per_field.items()):
        print(f"   {k:36s} F1 {(c.f1.value or 0):5.1f}  (tp={c.tp} fp={c.fp} fn={c.fn})")
    if "funsd" in names:
        print(f"{'funsd':24s} pair F1 {(kv_counts.f1.value or 0):5.1f} (tp={kv_counts.tp} fp={kv_counts.fp} "
              f"fn={kv_counts.fn}); fuzzy(0.8) {(kv_fuzzy.f1.value or 0):5.1f}")
    allok = [x for v in type_ok.values() for x in v]
    for ds, v in type_ok.items():
        print(f"doc_type accuracy {ds:22s} {100 * sum(v) / len(v):5.1f}% ({sum(v)}/{len(v)})")
    print(f"doc_type accuracy overall {100 * sum(allok) / max(1, len(allok)):5.1f}%")
    if calib:
        print(f"ECE (10 bins, {len(calib)} fields): {expected_calibration_error(calib):.3f}")
        for row in reliability_table(calib, bins=5):
            print("   ", row)
    if args.dump_calibration:
        Path(args.dump_calibration).write_text("".join(json.dumps(r) + "\n" for r in records))
    if args.fit_calibration:
        fit_calibration(args, names, engines, calib_groups, calib_docs, records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
