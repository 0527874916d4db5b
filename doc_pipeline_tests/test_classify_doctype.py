"""Document type cues (core/fields/classify.py) on synthetic pages."""

from __future__ import annotations

from doc_pipeline.core.fields.classify import classify_doc_type
from doc_pipeline.core.fields.layout_text import DocText
from doc_pipeline.core.models import Page, PageKind, Word


def page_from_lines(lines: list[str], kind: PageKind = PageKind.scanned) -> Page:
    words = []
    for i, line in enumerate(lines):
        x = 40.0
        for tok in line.split():
            words.append(Word(text=tok, bbox=(x, 40.0 + 14 * i, x + 6 * len(tok), 50.0 + 14 * i), conf=0.9))
            x += 6 * (len(tok) + 1)
    return Page(page_no=1, kind=kind, width=595, height=842, words=words)


def classify(lines, kind=PageKind.scanned):
    pages = [page_from_lines(lines, kind)]
    return classify_doc_type(pages, DocText(pages).text)[0]


def test_fill_in_blanks_and_field_hints_make_a_form():
    assert classify(["TRAVEL INFORMATION SHEET", "NAME ________", "CITY ______ STATE ____"]) == "form"
    assert classify(["MEDIA CONTACT", "(Name)", "(Date)", "(Phone number)"]) == "form"


def test_one_page_of_short_lines_without_cues_is_a_form_not_other():
    lines = ["COMPOUND DATA", "Melting point", "56 C", "Solubility", "EtOH", "Colour", "white", "Batch", "A221"]
    assert classify(lines) == "form"


def test_seller_tax_registration_number_tips_a_payment_receipt_page_to_invoice():
    lines = ["PAYMENT RECEIPT", "Guest Name: Sanjay", "Payment Mode Cash", "Grand Total Rs 1939",
             "Please ask for invoice at check-out", "GSTIN 06AABCO6063D1ZQ"]
    assert classify(lines, PageKind.native) == "invoice"
