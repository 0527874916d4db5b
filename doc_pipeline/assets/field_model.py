import json

from dagster import AssetExecutionContext, MaterializeResult, asset
from sqlalchemy import select

from doc_pipeline.core.fields.extract import ranker_examples
from doc_pipeline.core.fields.layout_text import DocText
from doc_pipeline.core.fields.ner import train_field_model
from doc_pipeline.core.fields.review import corrections_to_training_examples
from doc_pipeline.core.models import FieldsResult, OcrResult
from doc_pipeline.db.models import Review
from doc_pipeline.results import read_derived
from doc_pipeline.resources import DocPipelineResource

MODEL_KEY = "models/field_model/model.zip"
CORRECTIONS_KEY = "exports/corrections.jsonl"
RANKER_ROWS_KEY = "exports/ranker_rows.jsonl"


def load_model_bytes(docpipe: DocPipelineResource) -> bytes | None:
    try:
        return docpipe.store().get_bytes(MODEL_KEY)
    except KeyError:
        return None


@asset(group_name="learning", kinds={"spacy"},
       description="Learned from reviewers' corrections: a small spaCy NER (corrected spans, exported as "
                   "exports/corrections.jsonl, plus generated documents) and a candidate ranker (layout/text "
                   "features of every candidate, the corrected value marking the right one; rows exported as "
                   "exports/ranker_rows.jsonl) that chooses among the extractors' candidates on other documents of "
                   "the same type. `fields` depends on it: after retraining, the UI shows which documents are "
                   "stale, and a backfill of `fields` updates them.")
def field_model(context: AssetExecutionContext, docpipe: DocPipelineResource) -> MaterializeResult:
    store = docpipe.store()
    with docpipe.db().session() as s:
        reviewed = sorted({r.doc_id for r in s.scalars(select(Review))})
    examples, ranker_rows = [], []
    for doc_id in reviewed:
        ocr = read_derived(store, "ocr_text", doc_id, OcrResult)
        flds = read_derived(store, "fields", doc_id, FieldsResult)
        if ocr is None or flds is None:
            continue  # reviewed but its results are gone: nothing to learn from
        # the same text extraction runs the model on (lines from word boxes), so spans line up at inference
        examples.extend(corrections_to_training_examples(DocText(ocr.pages).text, flds))
        ranker_rows.extend(ranker_examples(ocr.pages, flds))
    store.put_bytes(CORRECTIONS_KEY, "".join(json.dumps(e) + "\n" for e in examples).encode(), "application/x-ndjson")
    store.put_bytes(RANKER_ROWS_KEY, "".join(json.dumps(r) + "\n" for r in ranker_rows).encode(),
                    "application/x-ndjson")
    model = train_field_model(examples, generated=200, ranker_rows=ranker_rows)
    store.put_bytes(MODEL_KEY, model, "application/zip")
    return MaterializeResult(metadata={"reviewed_documents": len(reviewed), "training_examples": len(examples),
                                       "ranker_rows": len(ranker_rows),
                                       "ranker_rows_with_right_candidate": sum(1 for r in ranker_rows if any(r["y"])),
                                       "model_bytes": len(model), "corrections_key": CORRECTIONS_KEY,
                                       "ranker_rows_key": RANKER_ROWS_KEY})
