"""The evaluation runner on a tiny corpus built here, in the real corpus layout and ground-truth formats."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image
from rich.console import Console

from doc_pipeline.core.models import DocStatus, DocumentResult
from doc_pipeline.evaluation import iter_documents, list_datasets, run_eval
from doc_pipeline.evaluation.oracle import oracle_result

SROIE_GT = {
    "sroie_001": {
        "fields": {"company": "TEO HENG STATIONERY & BOOKS", "date": "05/01/2018", "address": "NO. 53, JALAN BESAR", "total": "4.90"},
        "text": "TEO HENG STATIONERY & BOOKS\nNO. 53, JALAN BESAR\nTOTAL 4.90",
    },
    "sroie_002": {
        "fields": {"company": "KEDAI MAKAN", "date": "25/12/2018", "address": "JALAN 1", "total": "12.00"},
        "text": "KEDAI MAKAN\nJALAN 1\nTOTAL 12.00",
    },
    "sroie_003": {
        "fields": {"company": "SHOP", "date": "01/02/2019", "address": "JALAN 2", "total": "1.00"},
        "text": "SHOP\nTOTAL 1.00",
    },
}
ICDAR_GRID = [["", "to air", "to water"], ["CO2", "100", "-"], ["CH4", "100 000", None]]


def _write_dataset(root: Path, name: str, docs: list[dict]) -> None:
    folder = root / name
    (folder / "gt").mkdir(parents=True)
    entries = []
    for d in docs:
        (folder / "gt" / f"{d['id']}.json").write_text(json.dumps(d), encoding="utf-8")
        entries.append({"id": d["id"], "document": d["document"], "gt": f"gt/{d['id']}.json", "sha256": "x"})
    manifest = {"dataset": name, "split": "test", "count": len(entries), "documents": entries}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    sroie_docs = []
    for doc_id, g in SROIE_GT.items():
        sroie_docs.append(
            {"id": doc_id, "document": f"images/{doc_id}.jpg", "doc_type": "receipt", "input_kind": "scanned_image",
             "lines": [{"text": t, "quad": [[0, 0], [9, 0], [9, 9], [0, 9]]} for t in g["text"].split("\n")], **g}
        )
    _write_dataset(root, "sroie", sroie_docs)
    (root / "sroie" / "images").mkdir()
    for doc_id in SROIE_GT:
        Image.new("L", (60, 80), 255).save(root / "sroie" / "images" / f"{doc_id}.jpg")

    icdar = {
        "id": "icdar13_eu-001",
        "document": "pdfs/icdar13_eu-001.pdf",
        "input_kind": "native_pdf",
        "coordinate_system": "PDF points, origin bottom-left of page, pages numbered from 1",
        "n_tables": 1,
        "tables": [{"table_id": "1", "regions": [{
            "region_id": "1", "page": 2, "table_bbox": [100, 451, 482, 543], "col_increment": 0, "row_increment": 0,
            "n_rows": 3, "n_cols": 3, "cells": [], "grid": ICDAR_GRID}]}],
    }
    _write_dataset(root, "icdar2013_tables", [icdar])
    (root / "icdar2013_tables" / "pdfs").mkdir()
    pdf = pdfium.PdfDocument.new()
    pdf.new_page(595, 842)
    pdf.new_page(595, 842)
    pdf.save(str(root / "icdar2013_tables" / "pdfs" / "icdar13_eu-001.pdf"))
    pdf.close()
    (root / "not_a_dataset").mkdir()  # no manifest: ignored
    return root


def perfect_predict(path: Path, entry: dict) -> DocumentResult:
    """Oracle built from the ground truth; every page reports fake stage timings."""
    dataset_dir = path.parent.parent
    gt = json.loads((dataset_dir / entry["gt"]).read_text(encoding="utf-8"))
    result = oracle_result(dataset_dir.name, gt, path)
    result.meta["timings"] = {"ocr_text": 2.0 * len(result.pages), "fields": 0.5 * len(result.pages)}
    return result


def _rows(csv_path: Path) -> dict[str, dict[str, str]]:
    with csv_path.open(encoding="utf-8") as fh:
        return {r["id"]: r for r in csv.DictReader(fh)}


def test_corpus_listing(corpus: Path):
    assert [d.name for d in list_datasets(corpus)] == ["icdar2013_tables", "sroie"]
    docs = list(iter_documents(corpus, ["sroie"]))
    assert [d.id for d in docs] == ["sroie_001", "sroie_002", "sroie_003"]
    assert docs[0].path.is_file() and docs[0].gt["fields"]["total"] == "4.90"
    with pytest.raises(ValueError, match="unknown dataset"):
        list_datasets(corpus, ["nope"])


def test_perfect_predictions_score_100(corpus: Path, tmp_path: Path):
    out_csv, preds = tmp_path / "eval.csv", tmp_path / "preds"
    report = run_eval(corpus, None, perfect_predict, predictions_dir=preds, out_csv=out_csv)
    summary = report.summary()

    sroie = summary["sroie"]
    assert sroie["docs"] == 3 and sroie["errors"] == 0
    for metric in ("field_f1", "word_f1", "kind_doc_acc", "kind_page_acc"):
        assert sroie["metrics"][metric]["micro"] == 100, metric
    for metric in ("cer", "cer_ci", "wer", "wer_ci"):
        assert sroie["metrics"][metric]["micro"] == 0, metric
    assert sroie["fields"]["date"]["tp"] == 3
    assert sroie["seconds_per_page"] == {"ocr_text": 2.0, "fields": 0.5}

    icdar = summary["icdar2013_tables"]
    for metric in ("table_det_recall", "table_det_precision", "table_cell_f1", "table_adj_f1", "kind_page_acc"):
        assert icdar["metrics"][metric]["micro"] == 100, metric
    assert "cer" not in icdar["metrics"] and "field_f1" not in icdar["metrics"]

    rows = _rows(out_csv)
    assert set(rows) == {"sroie_001", "sroie_002", "sroie_003", "icdar13_eu-001"}
    assert rows["sroie_001"]["dataset"] == "sroie" and rows["sroie_001"]["field_f1"] == "100.0"
    assert rows["sroie_001"]["table_det_recall"] == ""  # not applicable to receipts
    assert rows["icdar13_eu-001"]["pages"] == "2" and rows["icdar13_eu-001"]["table_adj_f1"] == "100.0"
    assert rows["icdar13_eu-001"]["t_ocr_text"] == "4.0" and rows["icdar13_eu-001"]["error"] == ""

    saved = DocumentResult.model_validate_json((preds / "icdar13_eu-001.json").read_text(encoding="utf-8"))
    assert saved.tables[0].bbox == (100, 299, 482, 391)  # converted to top-left origin
    assert sorted(p.name for p in preds.iterdir()) == sorted(f"{i}.json" for i in rows)

    data = json.loads(report.to_json())
    assert data["overall"]["docs"] == 4 and len(data["documents"]) == 4
    assert data["datasets"]["sroie"]["metrics"]["field_f1"]["macro"] == 100

    console = Console(record=True, width=160)
    console.print(report.to_table())
    text = console.export_text()
    assert "icdar2013_tables" in text and "table_det_recall" in text and "s/page ocr_text" in text


def test_errors_are_recorded_and_the_run_goes_on(corpus: Path, tmp_path: Path):
    def flaky(path: Path, entry: dict) -> DocumentResult:
        if entry["id"] == "sroie_002":
            raise RuntimeError("engine crashed")
        if entry["id"] == "sroie_003":
            return DocumentResult(doc_id="sroie_003", status=DocStatus.failed, error="bad image")
        return perfect_predict(path, entry)

    seen = []
    report = run_eval(corpus, ["sroie"], flaky, out_csv=tmp_path / "e.csv", on_document=lambda r: seen.append(r.id))
    assert seen == ["sroie_001", "sroie_002", "sroie_003"]
    rows = _rows(tmp_path / "e.csv")
    assert rows["sroie_002"]["error"] == "RuntimeError: engine crashed"
    assert rows["sroie_003"]["error"] == "bad image"
    for doc_id in ("sroie_002", "sroie_003"):
        assert rows[doc_id]["field_f1"] == "0.0" and rows[doc_id]["word_f1"] == "0.0"
        assert rows[doc_id]["cer"] == "100.0" and rows[doc_id]["kind_doc_acc"] == "0.0"
    assert rows["sroie_001"]["field_f1"] == "100.0" and rows["sroie_001"]["error"] == ""

    s = report.summary()["sroie"]
    assert s["errors"] == 2
    assert s["metrics"]["field_f1"]["micro"] == 50  # tp 4 of 12 fields, fn 8: 2*4 / (2*4 + 0 + 8)
    assert s["metrics"]["field_f1"]["macro"] == pytest.approx(100 / 3, abs=0.01)  # mean of 100, 0, 0


def test_partial_fields_and_field_name_mapping(corpus: Path):
    def wrong_total(path: Path, entry: dict) -> DocumentResult:
        result = perfect_predict(path, entry)
        for f in result.fields:
            if f.name == "total":
                f.value, f.normalized = "RM 9.90", "9.90"
            if f.name == "date":  # our normalised value is ISO; the raw text may be anything
                f.value, f.normalized = "garbled", {"05/01/2018": "2018-01-05"}.get(f.value, "2000-01-01")
        return result

    report = run_eval(corpus, ["sroie"], wrong_total)
    fields = report.summary()["sroie"]["fields"]
    assert fields["total"]["tp"] == 0 and fields["total"]["fp"] == 3 and fields["total"]["fn"] == 3
    assert fields["date"]["tp"] == 1 and fields["company"]["f1"] == 100
    # per doc: company, address right; total wrong; date right only for sroie_001
    values = {r.id: r.value("field_f1") for r in report.rows}
    assert values["sroie_001"] == pytest.approx(100 * 6 / 8)  # tp 3, fp 1, fn 1
    assert values["sroie_002"] == pytest.approx(100 * 4 / 8)  # tp 2, fp 2, fn 2
