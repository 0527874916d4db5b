"""Field extraction on synthetic pages (words with boxes built here, no corpus)."""

from __future__ import annotations

import pytest

from doc_pipeline.core.fields import extract_fields, iban_is_valid, parse_amount, parse_date
from doc_pipeline.core.fields.normalize import find_ibans
from doc_pipeline.core.fields.synth import SynthDoc
from doc_pipeline.core.models import Page, PageKind, Word


def page_from_lines(lines: list[str], width: float = 595.0, height: float = 842.0, conf: float = 0.96,
                    columns: dict[int, list[tuple[float, str]]] | None = None) -> Page:
    """One word per token, 6 pt per character, 14 pt line pitch; ``columns`` places extra phrases at x."""
    words = []
    for i, line in enumerate(lines):
        y = 40.0 + 14.0 * i
        segments = [(40.0, line)] + (columns or {}).get(i, [])
        for x, text in segments:
            for tok in text.split():
                words.append(Word(text=tok, bbox=(x, y, x + 6.0 * len(tok), y + 10.0), conf=conf))
                x += 6.0 * (len(tok) + 1)
    return Page(page_no=1, kind=PageKind.scanned, width=width, height=height, words=words)


def by_name(result):
    out = {}
    for f in result.fields:
        out.setdefault(f.name, f)
    return out


RECEIPT = ["ACME TRADING SDN BHD", "NO. 12, JALAN BESAR,", "50000 KUALA LUMPUR", "TEL: 03-3271 9872",
           "CASH RECEIPT", "DATE: 12/01/2018", "BREAD 1 2.50", "MILK 2 7.50", "SUB-TOTAL 10.00", "GST 6% 0.60",
           "TOTAL RM 10.60", "CASH 20.00", "CHANGE 9.40", "THANK YOU, PLEASE COME AGAIN"]


def test_receipt_fields_values_iso_dates_and_provenance():
    page = page_from_lines(RECEIPT, width=220.0, height=600.0)
    r = extract_fields([page])
    f = by_name(r)
    assert r.doc_type == "receipt" and f["doc_type"].value == "receipt"
    assert f["company"].value == "ACME TRADING SDN BHD"
    assert f["address"].value == "NO. 12, JALAN BESAR, 50000 KUALA LUMPUR"
    assert f["date"].normalized == "2018-01-12"  # dd/mm/yyyy -> ISO 8601
    assert f["total"].normalized == "10.60 MYR"  # not the sub-total, not the cash tendered
    # provenance: bbox is the union of the words it came from ("10.60" on line 10, x from 100)
    total = f["total"]
    assert total.page_no == 1 and total.bbox is not None
    y = 40.0 + 14.0 * 10
    assert total.bbox[1] == pytest.approx(y) and total.bbox[3] == pytest.approx(y + 10)
    assert "TOTAL" in total.evidence and total.source.value == "rule"
    for fld in r.fields:
        assert 0.0 <= fld.confidence <= 1.0


def test_invoice_fields_and_iban_and_hint_wins():
    lines = ["Blue River Supplies Ltd", "45 High Street, London SW1A 1AA", "INVOICE", "Invoice No: INV-20391",
             "Invoice Date: 12 Jan 2018", "Due Date: 11 Feb 2018", "Bill To: John Smith",
             "Consulting services 3 1,200.00", "Subtotal 1,200.00", "VAT 20% 240.00", "Total Due: 1,440.00 EUR",
             "IBAN: DE89 3704 0044 0532 0130 00"]
    r = extract_fields([page_from_lines(lines)])
    f = by_name(r)
    assert r.doc_type == "invoice"
    assert f["invoice_number"].value == "INV-20391"
    assert f["date"].normalized == "2018-01-12"  # the invoice date, not the due date
    assert f["total"].normalized == "1440.00 EUR"
    assert f["currency"].value == "EUR"
    assert f["issuer"].value == "Blue River Supplies Ltd"
    assert f["iban"].normalized == "DE89370400440532013000"
    # the upload hint wins over the classifier
    r2 = extract_fields([page_from_lines(lines)], doc_type_hint="receipt")
    assert r2.doc_type == "receipt" and by_name(r2)["doc_type"].confidence == 1.0


def test_pay_stub_fields():
    lines = ["ACME CORP PAYROLL", "EARNINGS STATEMENT / PAY STUB", "Employer: Northwind Foods Inc",
             "Employee: Maria Garcia", "Pay Period: 01/03/2024 - 15/03/2024", "Gross Pay $4,250.00",
             "Federal Income Tax $610.00", "Deductions $120.50", "Net Pay $3,519.50"]
    r = extract_fields([page_from_lines(lines)])
    f = by_name(r)
    assert r.doc_type == "pay_stub"
    assert f["employer"].value == "Northwind Foods Inc"
    assert f["employee"].value == "Maria Garcia"
    assert f["pay_period"].normalized == {"start": "2024-03-01", "end": "2024-03-15"}
    assert f["gross_pay"].normalized == "4250.00 USD"
    assert f["net_pay"].normalized == "3519.50 USD"
    assert not [x for x in r.flags if x.code == "missing_field"]


def test_bank_statement_fields_and_invalid_iban_rejected():
    lines = ["ACCOUNT STATEMENT", "Account Holder: Emma Johnson", "Account Number: 12345678901",
             "IBAN: GB82 WEST 1234 5698 7654 32", "Statement Period: 01 Mar 2024 to 31 Mar 2024",
             "Opening Balance 1,000.00", "05/03/2024 Card payment 45.10", "Closing Balance 954.90", "BIC: WESTGB2L"]
    r = extract_fields([page_from_lines(lines)])
    f = by_name(r)
    assert r.doc_type == "bank_statement"
    assert f["account_holder"].value == "Emma Johnson"
    assert f["account_number"].normalized == "12345678901"
    assert f["iban"].normalized == "GB82WEST12345698765432"
    assert f["statement_period"].normalized == {"start": "2024-03-01", "end": "2024-03-31"}
    assert f["opening_balance"].normalized.startswith("1000.00")
    assert f["closing_balance"].normalized.startswith("954.90")
    # one wrong check digit: no IBAN field at all, and a missing-field flag for review
    bad = [ln.replace("GB82 WEST 1234 5698 7654 32", "GB82 WEST 1234 5698 7654 33") for ln in lines]
    r2 = extract_fields([page_from_lines(bad)])
    assert "iban" not in by_name(r2)
    assert any(x.code == "missing_field" and x.field == "iban" for x in r2.flags)


@pytest.mark.parametrize("text,iso", [("12/01/2018", "2018-01-12"), ("12 Jan 2018", "2018-01-12"),
                                      ("2018-01-12", "2018-01-12"), ("January 12, 2018", "2018-01-12"),
                                      ("03/25/2019", "2019-03-25"), ("the 5th day of March, 2007", "2007-03-05"),
                                      ("12.01.18", "2018-01-12"), ("31/02/2018", None)])
def test_dates_to_iso(text, iso):
    assert parse_date(text) == iso


def test_amounts_and_iban_checksum():
    assert parse_amount("$1,234.56") == {"amount": 1234.56, "currency": "USD"}
    assert parse_amount("1.234,56 EUR") == {"amount": 1234.56, "currency": "EUR"}
    assert parse_amount("RM 12.50") == {"amount": 12.5, "currency": "MYR"}
    assert iban_is_valid("GB82 WEST 1234 5698 7654 32")
    assert not iban_is_valid("GB82 WEST 1234 5698 7654 33")  # checksum
    assert not iban_is_valid("DE89 3704 0044 0532 0130")  # wrong length for DE
    (hit,) = find_ibans("pay to DE89 3704 0044 0532 0130 00 BIC COBADEFFXXX")
    assert hit[2] == "DE89370400440532013000" and hit[3]


def test_contract_fields():
    text = ("MUTUAL NONDISCLOSURE AGREEMENT\nThis Mutual Nondisclosure Agreement (the “Agreement”) is entered into "
            "as of March 5, 2015 by and between\nAcme Widgets, Inc., a Delaware corporation (“Acme”), and Blue "
            "River Holdings LLC, a Texas limited\nliability company (“Blue River”).\n1. Term. This Agreement shall "
            "remain in effect for a period of two (2) years from the Effective Date.\n2. Governing Law. This "
            "Agreement shall be governed by the laws of the State of New York.\nIN WITNESS WHEREOF the parties "
            "hereby sign.")
    r = extract_fields([page_from_lines(text.split("\n"))])
    assert r.doc_type == "contract"
    parties = [f.value for f in r.fields if f.name == "parties"]
    assert parties == ["Acme Widgets Inc.", "Blue River Holdings LLC"]  # document order
    f = by_name(r)
    assert f["effective_date"].normalized == "2015-03-05"
    assert f["jurisdiction"].value == "New York"
    assert f["term"].normalized == "P2Y"


def test_form_key_values_right_and_below():
    lines = ["FAX TRANSMITTAL FORM", "TO: George Baroody", "DATE: 12/10/98", "", "SUBJECT:"]
    page = page_from_lines(lines, columns={3: [(300.0, "FAX NUMBER:")], 4: [(300.0, "(614) 466-5087")]})
    # a value below its label: "SUBJECT:" on line 4 with "Quarterly report" on line 5 under it
    page.words.append(Word(text="Quarterly", bbox=(40.0, 40 + 14 * 5, 94.0, 50 + 14 * 5), conf=0.9))
    page.words.append(Word(text="report", bbox=(100.0, 40 + 14 * 5, 136.0, 50 + 14 * 5), conf=0.9))
    r = extract_fields([page], doc_type_hint="form")
    kv = {f.name: f.value for f in r.fields if f.source.value == "kv"}
    assert kv["to"] == "George Baroody"
    assert kv["date"] == "12/10/98"
    assert kv["fax number"] == "(614) 466-5087"  # value below the label
    assert kv["subject"] == "Quarterly report"


def test_synthetic_generator_pages_roundtrip():
    d = SynthDoc("receipt")
    d.add("", "TOTAL", "12.50", prefix="TOTAL: ")
    ex = d.example()
    s, e, lab = ex["entities"][0]
    assert ex["text"][s:e] == "12.50" and lab == "TOTAL"
    assert [w.text for w in d.to_page().words] == ["TOTAL:", "12.50"]
