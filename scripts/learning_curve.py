"""Learning curve of the field model: do review corrections on some documents help on OTHER documents of the
same kind? (development measurement on the shared corpus, not part of the pipeline)

For each k, k documents of a dataset are "reviewed": their extracted fields are corrected to the ground-truth
values with the project's own review path (``apply_corrections`` -> ``corrections_to_training_examples``), the
field model is retrained on those examples plus the usual generated documents (``train_field_model``, as the
``field_model`` asset does) and the documents of a fixed held-out half - never reviewed at any k - are
extracted with that model and scored with the evaluation scoring:

    .venv/bin/python scripts/learning_curve.py --dataset sroie --ks 0,2,5,10,15 --seeds 0,1

Rows: ``rules only`` (no model), then k = 0 (model from generated data only), 2, 5, ... Pages come from the
same cache as scripts/fields_eval.py (Tesseract/RapidOCR for images, pdfplumber for PDFs).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fields_eval import load_pages  # noqa: E402

from doc_pipeline.core.fields import extract_fields  # noqa: E402
from doc_pipeline.core.fields.extract import ranker_examples  # noqa: E402
from doc_pipeline.core.fields.layout_text import DocText  # noqa: E402
from doc_pipeline.core.fields.ner import load_field_model, train_field_model  # noqa: E402
from doc_pipeline.core.fields.review import apply_corrections, corrections_to_training_examples  # noqa: E402
from doc_pipeline.core.models import DocStatus, DocumentResult  # noqa: E402
from doc_pipeline.evaluation import metrics as m  # noqa: E402
from doc_pipeline.evaluation import scoring  # noqa: E402
from doc_pipeline.evaluation.corpus import iter_documents  # noqa: E402

EXPECTED_TYPE = {"sroie": "receipt", "invoices_invoice2data": "invoice", "kleister_nda": "contract"}


def review_decisions(dataset: str, gt: dict) -> list[dict]:
    """What a reviewer would enter: every scored ground-truth field, corrected to its true value."""
    ours = {}
    for our, theirs in scoring.FIELD_NAME_MAP[dataset].items():
        ours.setdefault(theirs, our)  # first listed name is the one our extractor emits
    gt_sets = scoring._gt_field_sets(dataset, gt)
    out = []
    for gname in gt_sets:
        raw = (gt.get("fields") or {}).get(gname)
        for v in raw if isinstance(raw, list) else ([] if raw is None else [raw]):
            out.append({"name": ours.get(gname, gname), "action": "correct", "value": str(v).replace("_", " ")})
    return out


def training_rows(dataset: str, doc, pages) -> tuple[list[dict], list[dict]]:
    """The real correction path (as the ``field_model`` asset does it): extract, apply the reviewer's decisions,
    turn human fields into NER spans and into candidate-ranker rows."""
    hint = EXPECTED_TYPE[dataset]
    result = extract_fields(pages, doc_type_hint=hint)
    corrected = apply_corrections(result, review_decisions(dataset, doc.gt))
    return corrections_to_training_examples(DocText(pages).text, corrected), ranker_examples(pages, corrected)


def score(dataset: str, docs, pages_of, model, per_field: dict | None = None) -> m.PRCounts:
    total = m.PRCounts()
    for doc in docs:
        fr = extract_fields(pages_of[doc.id], doc_type_hint=EXPECTED_TYPE[dataset], model=model)
        res = DocumentResult(doc_id=doc.id, status=DocStatus.done, fields=fr.fields, doc_type=fr.doc_type)
        for name, c in scoring.field_details(dataset, doc.gt, res).items():
            total += c
            if per_field is not None:
                per_field[name] = per_field.get(name, m.PRCounts()) + c
    return total


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "corpus"))
    ap.add_argument("--dataset", default="sroie", choices=sorted(EXPECTED_TYPE))
    ap.add_argument("--ks", default="0,2,5,10,15", help="numbers of reviewed documents")
    ap.add_argument("--seeds", default="0,1", help="one random split/draw per seed; the table shows the mean")
    ap.add_argument("--generated", type=int, default=200, help="synthetic documents added to every training set")
    ap.add_argument("--cache", default="/tmp/docpipe-fields-eval")
    ap.add_argument("--ocr", default="tesseract")
    ap.add_argument("--no-ranker", action="store_true", help="NER only (the model before the candidate ranker)")
    args = ap.parse_args()
    ks = [int(k) for k in args.ks.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    cache = Path(args.cache) if args.ocr == "tesseract" else Path(args.cache) / args.ocr

    docs = list(iter_documents(args.corpus, [args.dataset]))
    pages_of = {d.id: load_pages(d, cache, False, args.ocr) for d in docs}
    rows_of: dict[str, tuple[list[dict], list[dict]]] = {}
    results: dict[str, list[float]] = {}
    spans: dict[str, list[int]] = {}
    fields_of: dict[str, dict[str, m.PRCounts]] = {}  # per-field counts pooled over seeds
    t0 = time.time()
    for seed in seeds:
        order = docs[:]
        random.Random(seed).shuffle(order)
        half = len(order) // 2
        pool, held_out = order[:half], order[half:]  # held-out documents are never reviewed
        base = score(args.dataset, held_out, pages_of, None, fields_of.setdefault("rules only (no model)", {}))
        results.setdefault("rules only (no model)", []).append(base.f1.value or 0.0)
        for k in ks:
            if k > len(pool):
                continue
            examples, rrows = [], []
            for d in pool[:k]:
                if d.id not in rows_of:
                    rows_of[d.id] = training_rows(args.dataset, d, pages_of[d.id])
                examples += rows_of[d.id][0]
                rrows += rows_of[d.id][1]
            model = load_field_model(train_field_model(examples, generated=args.generated, seed=seed,
                                                       ranker_rows=None if args.no_ranker else rrows))
            c = score(args.dataset, held_out, pages_of, model, fields_of.setdefault(f"k={k}", {}))
            results.setdefault(f"k={k}", []).append(c.f1.value or 0.0)
            spans.setdefault(f"k={k}", []).append(sum(len(r["entities"]) for r in examples))
            print(f"seed={seed} k={k:3d} spans={spans[f'k={k}'][-1]:4d} held-out F1={c.f1.value or 0:5.1f} "
                  f"(tp={c.tp} fp={c.fp} fn={c.fn}) ranker_rows={len(rrows)} "
                  f"with_right_candidate={sum(1 for r in rrows if any(r['y']))} [{time.time() - t0:.0f}s]",
                  file=sys.stderr)
    print(f"\nLearning curve: {args.dataset}, {len(docs)} documents, held-out half per seed, seeds={seeds}, "
          f"ocr={args.ocr}, generated={args.generated}")
    names = sorted({n for d in fields_of.values() for n in d})
    print("| reviewed documents (k) | corrected spans learned (mean) | held-out micro-F1 (mean) | per seed | "
          + " | ".join(f"{n} F1" for n in names) + " |")
    print("|---|---|---|---|" + "---|" * len(names))
    for name, vals in results.items():
        sp = f"{statistics.mean(spans[name]):.0f}" if name in spans else "-"
        pf = " | ".join(f"{(fields_of[name][n].f1.value or 0):.1f}" for n in names)
        print(f"| {name} | {sp} | {statistics.mean(vals):.1f} | {' / '.join(f'{v:.1f}' for v in vals)} | {pf} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
