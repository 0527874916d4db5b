"""Evaluation harness: score DocumentResults against a ground-truth corpus (see docs/EVALUATION.md)."""

from doc_pipeline.evaluation.corpus import CorpusDataset, CorpusDocument, iter_documents, list_datasets
from doc_pipeline.evaluation.runner import DocRow, EvalReport, evaluate_document, run_eval

__all__ = [
    "CorpusDataset",
    "CorpusDocument",
    "DocRow",
    "EvalReport",
    "evaluate_document",
    "iter_documents",
    "list_datasets",
    "run_eval",
]
