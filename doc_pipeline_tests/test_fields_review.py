"""Masking, review flags, corrections, calibration and the trainable field model."""

from __future__ import annotations

import pytest

from doc_pipeline.core.fields import (
    apply_corrections,
    corrections_to_training_examples,
    expected_calibration_error,
    extract_fields,
    field_flags,
    fit_isotonic,
    load_field_model,
    reliability_table,
    train_field_model,
)
from doc_pipeline.core.fields.calibration import apply_map
from doc_pipeline.core.fields.layout_text import DocText
from doc_pipeline.core.fields.ner import ner_candidates
from doc_pipeline.core.fields.synth import generate
from doc_pipeline.core.masking import mask_fields, mask_text, mask_value
from doc_pipeline.core.models import ExtractedField, FieldSource, FieldsResult
from doc_pipeline_tests.test_fields_extract import RECEIPT, page_from_lines

STATEMENT = ["ACCOUNT STATEMENT", "Account Holder: Emma Johnson", "Account Number: 12345678901",
             "IBAN: GB82 WEST 1234 5698 7654 32", "Statement Period: 01 Mar 2024 to 31 Mar 2024",
             "Opening Balance 1,000.00", "Closing Balance 954.90"]


def test_mask_value_keeps_last_four():
    assert mask_value("iban", "GB82WEST12345698765432") == "*" * 18 + "5432"
    assert mask_value("iban", "GB82 WEST 1234 5698 7654 32") == "**** **** **** **** **54 32"
    assert mask_value("account_number", "123-456-7890") == "***-***-7890"
    assert mask_value("total", "12.50 MYR") == "12.50 MYR"  # not sensitive


def test_mask_fields_by_role_and_mask_text():
    r = extract_fields([page_from_lines(STATEMENT)])
    masked = {f.name: f for f in mask_fields(r.fields, role="reviewer", allowed_roles={"admin"})}
    assert masked["iban"].value.endswith("54 32") and "WEST" not in masked["iban"].value
    assert masked["iban"].normalized == "*" * 18 + "5432"
    assert "1234 5698" not in masked["iban"].evidence
    assert masked["account_number"].normalized == "*******8901"
    assert masked["account_holder"].value == "Emma Johnson"
    admin = {f.name: f for f in mask_fields(r.fields, role="admin", allowed_roles={"admin"})}
    assert admin["iban"].normalized == "GB82WEST12345698765432"
    # originals are untouched (copies are returned)
    assert {f.name: f for f in r.fields}["iban"].normalized == "GB82WEST12345698765432"
    text = "Pay IBAN DE89370400440532013000, acct no: 123-456-7890 on 12/01/2018, tel 03-3271 9872, total 1,234.56"
    out = mask_text(text)
    assert "DE89370400440532013000" not in out and out.count("3000") == 1
    assert "***-***-7890" in out
    assert "12/01/2018" in out and "03-3271 9872" in out and "1,234.56" in out  # dates/phones/amounts stay
    assert mask_text("IBAN DE89370400440532013001") == "IBAN DE89370400440532013001"  # not a valid IBAN


def test_field_flags_missing_and_low_confidence():
    res = FieldsResult(doc_id="d", doc_type="receipt", fields=[
        ExtractedField(name="company", value="ACME", confidence=0.95),
        ExtractedField(name="date", value="2018-01-12", confidence=0.4),
        ExtractedField(name="total", value="1.00", confidence=0.7),
    ])
    flags = field_flags(res)
    assert {(f.code, f.field) for f in flags} == {("missing_field", "address"), ("low_confidence", "date")}
    flags = field_flags(res, thresholds={"receipt": {"total": 0.8, "date": 0.3}})
    assert {(f.code, f.field) for f in flags} == {("missing_field", "address"), ("low_confidence", "total")}
    assert all(f.reason for f in flags)


def test_apply_corrections_human_wins_and_reject_removes():
    r = extract_fields([page_from_lines(RECEIPT, width=220.0, height=600.0)])
    out = apply_corrections(r, [
        {"name": "total", "action": "correct", "value": "RM 11.60"},
        {"name": "date", "action": "accept"},
        {"name": "company", "action": "reject"},
        {"name": "parties", "action": "correct", "value": "Someone Ltd"},
    ])
    f = {x.name: x for x in out.fields}
    assert f["total"].value == "RM 11.60" and f["total"].normalized == "11.60 MYR"
    assert f["total"].source == FieldSource.human and f["total"].confidence == 1.0
    assert f["total"].bbox == {x.name: x for x in r.fields}["total"].bbox  # provenance of the corrected field kept
    assert f["date"].source == FieldSource.human and f["date"].normalized == "2018-01-12"
    assert "company" not in f
    assert f["parties"].value == "Someone Ltd"
    # corrections passed to extract_fields are applied the same way
    r2 = extract_fields([page_from_lines(RECEIPT, width=220.0, height=600.0)],
                        corrections=[{"name": "company", "action": "reject"}])
    assert "company" not in {x.name for x in r2.fields}
    with pytest.raises(ValueError):
        apply_corrections(r, [{"name": "total", "action": "delete"}])


def test_apply_corrections_ordinal_on_multi_valued():
    res = FieldsResult(doc_id="d", doc_type="contract", fields=[
        ExtractedField(name="parties", value="A Inc", confidence=0.7),
        ExtractedField(name="parties", value="B LLC", confidence=0.6)])
    out = apply_corrections(res, [{"name": "parties", "action": "reject", "ordinal": 0},
                                  {"name": "parties", "action": "correct", "value": "C Corp", "ordinal": 0}])
    assert [(f.value, f.source) for f in out.fields] == [("C Corp", FieldSource.human)]


def test_corrections_to_training_examples_spans():
    text = "ACME TRADING\nDATE: 12/01/2018\nTOTAL 10.60"
    res = FieldsResult(doc_id="d", doc_type="receipt", fields=[
        ExtractedField(name="total", value="10.60", confidence=1.0, source=FieldSource.human),
        ExtractedField(name="date", value="12/01/2018", confidence=0.6, source=FieldSource.rule)])
    (row,) = corrections_to_training_examples(text, res)
    assert row["text"] == text
    (s, e, label), = row["entities"]
    assert text[s:e] == "10.60" and label == "TOTAL"


def test_reliability_table_and_ece():
    perfect = [(0.9, True)] * 9 + [(0.9, False)] + [(0.3, True)] * 3 + [(0.3, False)] * 7
    assert expected_calibration_error(perfect) == pytest.approx(0.0)
    rows = reliability_table(perfect)
    assert [(r["count"], r["accuracy"]) for r in rows] == [(10, 0.3), (10, 0.9)]
    overconfident = [(0.95, False)] * 10
    assert expected_calibration_error(overconfident) == pytest.approx(0.95)
    knots = fit_isotonic([(0.2, False), (0.4, False), (0.6, True), (0.8, True)])
    assert apply_map(knots, 0.1) == 0.0 and apply_map(knots, 0.9) == 1.0
    assert all(b[1] >= a[1] for a, b in zip(knots, knots[1:]))  # monotone


def test_train_tiny_model_and_load_back():
    examples = [d.example() for d in generate(6, seed=7)]
    data = train_field_model(examples, generated=40, epochs=6, seed=1)
    assert isinstance(data, bytes) and len(data) > 1000
    nlp = load_field_model(data)
    assert {"TOTAL", "IBAN", "NET_PAY"} <= set(nlp.get_pipe("ner").labels)
    doc = generate(1, seed=123, kinds=("invoice",))[0]
    page = doc.to_page()
    cands = ner_candidates(nlp, DocText([page]))
    assert all(c.source == FieldSource.ner for c in cands)
    # the model is usable inside extract_fields and yields well-formed fields
    r = extract_fields([page], model=nlp)
    assert r.doc_type == "invoice" and all(0 <= f.confidence <= 1 for f in r.fields)


def test_mask_words_finds_numbers_split_over_words():
    from doc_pipeline.core.masking import mask_words
    from doc_pipeline.core.models import Word

    parts = ["IBAN", "DE89", "3704", "0044", "0532", "0130", "00", "thanks"]
    words = [Word(text=t, bbox=(i * 30, 0, i * 30 + 25, 10), conf=1.0, line=3) for i, t in enumerate(parts)]
    masked = [w.text for w in mask_words(words)]
    assert masked[0] == "IBAN" and masked[-1] == "thanks"
    joined = "".join(masked[1:7])
    assert "3704" not in joined and joined.endswith("3000") and "*" in joined
    assert [w.bbox for w in mask_words(words)] == [w.bbox for w in words]
