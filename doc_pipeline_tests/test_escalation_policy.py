"""Routing and budget decisions (table-driven), the ledger on SQLite and real Postgres, maybe_escalate end to end
(mock mode, and real Textract calls over HTTP with cache + ledger), db_audit rows."""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
from sqlalchemy import inspect, select

from doc_pipeline.core.models import ExtractedField, FieldsResult, FieldSource, Page, PageKind, Word
from doc_pipeline.db.models import AuditLog
from doc_pipeline.db.session import Database
from doc_pipeline.escalation import (PAID_OCR_POOL, PAID_OCR_TAG, STILL_DOUBTFUL, BudgetLedger, EscalationSettings,
                                     MemoryLedger, MockNotAllowedError, db_audit, decide_escalation,
                                     likely_to_escalate, maybe_escalate, paid_ocr_run_tags)
from doc_pipeline.escalation.escalate import page_payloads
from doc_pipeline.storage.local import LocalObjectStore
from doc_pipeline_tests.test_escalation_adapters import textract_server, textract_settings

TODAY = date(2025, 3, 14)


def F(name, conf, page=1, value="x", normalized=None):
    return ExtractedField(name=name, value=value, confidence=conf, page_no=page, normalized=normalized)


def invoice(*fields, doc_type="invoice"):
    return FieldsResult(doc_id="d1", doc_type=doc_type, fields=list(fields))


GOOD = [F("invoice_number", 0.9), F("date", 0.9), F("total", 0.95, value="120.00")]
WEAK_TOTAL = [F("invoice_number", 0.9), F("date", 0.9), F("total", 0.4, page=3, value="120.00")]


def spent(doc=0, day=0):
    led = MemoryLedger()
    if doc:
        led.record("d1", "textract", doc, 0.0, "h", TODAY)
    if day:
        led.record("other", "textract", day, 0.0, "h", TODAY)
    return led


CASES = [
    # id, settings overrides, fields, doc_meta, pages_needed, ledger, escalate, pages, reason pattern
    ("disabled", {"enabled": False}, WEAK_TOTAL, {"priority": "high"}, [1, 2, 3], spent(), False, [], "disabled"),
    ("confident", {}, GOOD, {"priority": "high"}, [1, 2, 3], spent(), False, [], "meet"),
    ("doubtful_low_value", {}, WEAK_TOTAL, {}, [1, 2, 3], spent(), False, [], "not high-value"),
    ("priority_high", {}, WEAK_TOTAL, {"priority": "high"}, [1, 2, 3], spent(), True, [3, 1, 2], "priority=high"),
    ("priority_in_upload_metadata", {}, WEAK_TOTAL, {"metadata": {"priority": "HIGH"}}, [1, 2], spent(), True,
     [1, 2], "priority"),
    ("declared_amount_over", {}, WEAK_TOTAL, {"declared_amount": "15,000.00"}, [3], spent(), True, [3],
     "declared_amount 15,000.00"),
    ("declared_amount_under", {}, WEAK_TOTAL, {"declared_amount": 9999}, [3], spent(), False, [], "not high-value"),
    ("amount_field_over", {}, [F("invoice_number", 0.9), F("date", 0.3),
                               F("total", 0.95, value="$20,500.00")], {}, [1], spent(), True, [1],
     "total 20,500.00"),
    ("missing_required_field", {}, [F("invoice_number", 0.9), F("total", 0.95)], {"priority": "high"}, [1],
     spent(), True, [1], "date 0.00<0.80"),
    ("high_value_type", {}, [F("iban", 0.5)], {}, [1, 2], spent(), True, [1, 2], "bank_statement is high-value"),
    ("doc_budget_truncates", {"per_document_page_budget": 10}, WEAK_TOTAL, {"priority": "high"}, [1, 2, 3, 4, 5],
     spent(doc=8), True, [3, 1], "budget allows 2 of 5"),
    ("doc_budget_spent", {"per_document_page_budget": 10}, WEAK_TOTAL, {"priority": "high"}, [1], spent(doc=10),
     False, [], "per-document page budget is spent"),
    ("daily_budget_spent", {"daily_page_budget": 100}, WEAK_TOTAL, {"priority": "high"}, [1], spent(day=100),
     False, [], "daily page budget is spent"),
    ("custom_threshold", {"thresholds": {"invoice": {"total": 0.3}}}, WEAK_TOTAL, {"priority": "high"}, [1],
     spent(), False, [], "meet"),
    ("unknown_type_default_threshold", {"default_threshold": 0.7}, [F("whatever", 0.5)], {"priority": "high"}, [2],
     spent(), True, [2], "whatever 0.50<0.70"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_decide_escalation(case):
    _, overrides, fields, meta, pages, ledger, escalate, want_pages, reason = case
    doc_type = "bank_statement" if fields and fields[0].name == "iban" else (
        "other" if fields and fields[0].name == "whatever" else "invoice")
    s = EscalationSettings(**{"enabled": True, **overrides})
    d = decide_escalation(invoice(*fields, doc_type=doc_type), meta, pages, ledger, s, TODAY)
    assert d.escalate is escalate, d.reason
    assert d.pages == want_pages
    assert re.search(re.escape(reason), d.reason), d.reason


# ---------------- ledger on SQLite and Postgres ----------------

def _ledger_roundtrip(db: Database):
    assert "escalation_spend" in inspect(db.engine).get_table_names()
    led = BudgetLedger(db)
    led.record("d1", "textract", 2, 0.13, "a" * 64, TODAY)
    led.record("d1", "azure", 1, 0.01, "b" * 64, TODAY)
    led.record("d2", "textract", 5, 0.325, "c" * 64, date(2025, 3, 13))
    assert led.pages_spent_for("d1") == 3 and led.pages_spent_for("nope") == 0
    assert led.pages_spent_on(TODAY) == 3 and led.pages_spent_on(date(2025, 3, 13)) == 5
    assert led.cost_on(TODAY) == pytest.approx(0.14)
    rows = led.rows("d1")
    assert [(r.vendor, r.pages, r.day) for r in rows] == [("textract", 2, TODAY), ("azure", 1, TODAY)]
    assert rows[0].created_at is not None
    s = EscalationSettings(enabled=True, per_document_page_budget=4)
    d = decide_escalation(invoice(*WEAK_TOTAL), {"priority": "high"}, [1, 2, 3], led, s, TODAY)
    assert d.pages == [3]  # 4 - 3 already spent on d1


def test_ledger_on_sqlite(tmp_path):
    _ledger_roundtrip(Database(f"sqlite:///{tmp_path / 'meta.db'}"))


def test_ledger_on_postgres():
    psycopg2 = pytest.importorskip("psycopg2")
    name = f"docpipe_esc_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test", connect_timeout=3)
    except psycopg2.OperationalError as exc:
        pytest.skip(f"no Postgres on 127.0.0.1:5432: {exc}")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    db = None
    try:
        db = Database(f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}")
        _ledger_roundtrip(db)
        from alembic import command
        from alembic.config import Config

        from doc_pipeline.db.session import SQL_DIR

        cfg = Config(str(SQL_DIR / "alembic.ini"))
        cfg.set_main_option("script_location", str(SQL_DIR))
        cfg.attributes["engine"] = db.engine
        command.downgrade(cfg, "0001")  # the migration goes down cleanly too
        assert "escalation_spend" not in inspect(db.engine).get_table_names()
    finally:
        if db is not None:
            db.engine.dispose()
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


# ---------------- maybe_escalate ----------------

def scanned_page(n: int, lines: list[str], conf: float) -> Page:
    words, y = [], 100.0
    for li, line in enumerate(lines):
        x = 72.0
        for t in line.split():
            words.append(Word(text=t, bbox=(x, y, x + 8 * len(t), y + 12), conf=conf, line=li))
            x += 8 * len(t) + 6
        y += 20
    return Page(page_no=n, kind=PageKind.scanned, width=612, height=792, text="\n".join(lines), words=words,
                engine="tesseract", mean_conf=conf)


def reextract(pages: list[Page]) -> FieldsResult:
    """A tiny rule extractor: a field's confidence is the mean OCR confidence of its words."""
    fields = []
    patterns = {"invoice_number": r"Invoice No: (\S+)", "date": r"Date: (\S+)", "total": r"Total: (\S+)"}
    for p in pages:
        for name, pat in patterns.items():
            for li, line in enumerate(p.text.splitlines()):
                m = re.search(pat, line)
                if m:
                    ws = [w for w in p.words if w.line == li]
                    conf = sum(w.conf for w in ws) / len(ws) if ws else 0.0
                    fields.append(ExtractedField(name=name, value=m.group(1), confidence=round(conf, 3),
                                                 page_no=p.page_no, source=FieldSource.rule))
    return FieldsResult(doc_id="d1", doc_type="invoice", fields=fields)


LINES = ["ACME Corp", "Invoice No: INV-1001", "Date: 2025-03-01", "Total: 12,500.00"]


def test_maybe_escalate_mock_end_to_end(tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("DOCPIPE_ENV", raising=False)
    db = Database(f"sqlite:///{tmp_path / 'meta.db'}")
    store = LocalObjectStore(tmp_path / "store")
    pages = [scanned_page(1, LINES, 0.45), scanned_page(2, ["Terms and conditions"], 0.9)]
    local = reextract(pages)
    assert all(f.confidence < 0.8 for f in local.fields)
    s = EscalationSettings(enabled=True)
    out = maybe_escalate("d1", local, pages, {1: b"\x89PNG1", 2: b"\x89PNG2"}, {"priority": "high"}, store, db,
                         reextract, db_audit(db), settings=s)
    assert out.escalated and out.decision.pages == [1, 2]
    assert [c.engine for c in out.calls] == ["textract-mock", "textract-mock"] and all(c.mock for c in out.calls)
    assert out.cost_usd == 0 and out.pages_paid == 0
    assert BudgetLedger(db).rows() == []  # mock calls are never charged
    assert out.pages[0].engine == "textract-mock" and out.pages[0].words[0].conf == pytest.approx(0.97)
    assert out.pages[0].words[0].bbox == pages[0].words[0].bbox  # same geometry, replaced words
    got = {f.name: f for f in out.fields_result.fields}
    assert got["total"].confidence >= 0.85 and got["total"].value == "12,500.00"
    assert not out.fields_result.flags and out.still_doubtful == []
    assert out.metadata()["mock"] is True
    with db.session() as sess:
        actions = [a.action for a in sess.scalars(select(AuditLog).order_by(AuditLog.id))]
        decision = sess.scalars(select(AuditLog).where(AuditLog.action == "escalation.decision")).one()
    assert actions[0] == "escalation.decision" and actions.count("escalation.call") == 2
    assert actions[-1] == "escalation.outcome" and decision.doc_id == "d1" and decision.detail["escalate"] is True


def test_maybe_escalate_flags_fields_still_doubtful(tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("DOCPIPE_ENV", raising=False)
    pages = [scanned_page(1, ["Invoice No: INV-7", "Total: 99,000.00"], 0.5)]  # no date anywhere
    out = maybe_escalate("d1", reextract(pages), pages, {1: b"png"}, {}, None, None, reextract,
                         settings=EscalationSettings(enabled=True), ledger=MemoryLedger())
    assert out.escalated and "total 99,000.00" in out.decision.reason
    flags = [f for f in out.fields_result.flags if f.code == STILL_DOUBTFUL]
    assert [f.field for f in flags] == ["date"] and out.still_doubtful == ["date"]


def test_maybe_escalate_not_worth_it_changes_nothing():
    pages = [scanned_page(1, ["Invoice No: INV-7", "Total: 12.00"], 0.5)]
    local = reextract(pages)
    out = maybe_escalate("d1", local, pages, {1: b"png"}, {}, None, None, reextract,
                         settings=EscalationSettings(enabled=True, mode="mock"), ledger=MemoryLedger())
    assert not out.escalated and out.calls == [] and out.fields_result == local and out.pages == pages


def test_maybe_escalate_refuses_mock_in_production(monkeypatch):
    monkeypatch.setenv("DOCPIPE_ENV", "production")
    pages = [scanned_page(1, ["Invoice No: INV-7"], 0.5)]
    with pytest.raises(MockNotAllowedError):
        maybe_escalate("d1", reextract(pages), pages, {1: b"png"}, {"priority": "high"}, None, None, reextract,
                       settings=EscalationSettings(enabled=True, mode="mock"), ledger=MemoryLedger())


def test_maybe_escalate_real_calls_charge_once_then_hit_cache(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'meta.db'}")
    store = LocalObjectStore(tmp_path / "store")
    srv = textract_server()
    try:
        s = textract_settings(srv.url, enabled=True, per_document_page_budget=5)
        pages = [scanned_page(1, LINES, 0.4), scanned_page(2, LINES, 0.4)]
        images = {1: b"\x89PNG-one", 2: b"\x89PNG-two"}
        out = maybe_escalate("d1", reextract(pages), pages, images, {"priority": "high"}, store, db, reextract,
                             settings=s)
        assert srv.count() == 2 and out.pages_paid == 2 and out.cost_usd == pytest.approx(0.13)
        rows = BudgetLedger(db).rows("d1")
        assert [(r.vendor, r.pages, r.cost_usd) for r in rows] == [("textract", 1, 0.065), ("textract", 1, 0.065)]
        assert {r.content_hash for r in rows} == {c.content_hash for c in out.calls}
        # the cloud words (fixture) replaced the local ones; its key-values fill the result
        assert out.pages[0].engine == "textract" and out.pages[0].words[0].text == "INVOICE"
        assert out.tables and out.tables[0].rows[1] == ["Widget", "12,500.00"]
        assert {f.name for f in out.cloud_fields} >= {"invoice_number", "total"}
        # re-run: same bytes -> cache, no HTTP call, no new charge
        again = maybe_escalate("d1", reextract(pages), pages, images, {"priority": "high"}, store, db, reextract,
                               settings=s)
        assert srv.count() == 2 and again.pages_paid == 0 and all(c.cached for c in again.calls)
        assert len(BudgetLedger(db).rows("d1")) == 2
    finally:
        srv.close()


def test_real_calls_stop_at_the_budget(tmp_path):
    srv = textract_server()
    try:
        led = MemoryLedger()
        led.record("x", "textract", 2, 0.0, "h")  # 2 of today's 3 pages already used
        s = textract_settings(srv.url, enabled=True, daily_page_budget=3)
        pages = [scanned_page(n, LINES, 0.4) for n in (1, 2, 3)]
        out = maybe_escalate("d1", reextract(pages), pages, {n: b"p%d" % n for n in (1, 2, 3)},
                             {"priority": "high"}, None, None, reextract, settings=s, ledger=led)
        assert out.decision.pages == [1] and srv.count() == 1 and led.pages_spent_on(date.today()) >= 3
    finally:
        srv.close()


def test_page_payloads_split_a_pdf_into_single_pages():
    import io

    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument.new()
    for w in (300, 400, 500):
        doc.new_page(w, 600)
    buf = io.BytesIO()
    doc.save(buf)
    parts = page_payloads(buf.getvalue(), [2, 3, 9])
    assert sorted(parts) == [2, 3]
    for n, w in ((2, 400), (3, 500)):
        one = pdfium.PdfDocument(parts[n])
        assert len(one) == 1 and one[0].get_width() == pytest.approx(w)
    assert page_payloads(b"\x89PNG img", [1, 2]) == {1: b"\x89PNG img"}


def test_dagster_names():
    assert PAID_OCR_TAG == "docpipe/paid_ocr" and paid_ocr_run_tags() == {"docpipe/paid_ocr": "true"}
    assert PAID_OCR_POOL == "docpipe_paid_ocr"
    s = EscalationSettings(enabled=True)
    assert likely_to_escalate({"metadata": {"priority": "high"}}, s)
    assert likely_to_escalate({"doc_type_hint": "pay_stub"}, s)
    assert not likely_to_escalate({"doc_type_hint": "invoice"}, s)
    assert not likely_to_escalate({"priority": "high"}, EscalationSettings(enabled=False))
