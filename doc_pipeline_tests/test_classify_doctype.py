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


def test_cue_literals_are_what_every_match_must_hold():
    from doc_pipeline.core.fields.classify import required_literals

    assert required_literals(r"\bpay ?(stub|slip)\b|\bpayslip\b") == ("pay", "payslip")
    assert required_literals(r"\bwithdrawals?\b") == ("withdrawal",)  # the quantified "s" may be absent
    assert required_literals(r"\bsdn\.? ?bhd\b") == ("sdn",)
    assert required_literals(r"\bfederal (income )?tax\b") == ("federal",)
    assert required_literals(r"\b(gst|sst)\b") is None  # begins with a group
    assert required_literals(r"_{3,}|[A-Za-z]_(\s|$)") is None
    assert required_literals(r"P<[A-Z]{3}") is None  # upper case: not a lower-case literal
    assert required_literals(r"\bto\s*:|\bx\b") is None  # one alternative under 2 characters


def test_literal_prefilter_scores_exactly_as_searching_every_cue():
    """doc_type_scores searches a cue's regex only where one of its literals is in the text; the scores must be
    those of searching every cue, whatever the case, and where characters that IGNORECASE folds to ASCII (the
    Kelvin sign, the long s, the dotless i) are in the text."""
    import re

    from doc_pipeline.core.fields.classify import CUES, doc_type_scores

    def every_cue(text):
        head = text[:20000]
        return {t: sum(w for p, w in cues if re.search(p, head, re.IGNORECASE)) for t, cues in CUES.items()}

    words = ["RECEIPT", "Cashier", "Total", "Invoice No", "VAT reg", "Pay Slip", "payslip", "Gross Pay", "IBAN",
             "Closing Balance", "Withdrawals", "WHEREAS", "Non-Disclosure", "Name:", "Subject :", "Re:", "Form",
             "Abstract", "Table 3", "Passport", "Date of Birth", "SDN. BHD", "Federal Income Tax", "Due Date"]
    texts = [" ".join(words), " ".join(w.lower() for w in words), "\n".join(words[::2]), "nothing here",
             "TOTA L PAY-SLIP name : ", "\u212aASH RECEIPT", "PAY\u017fLIP \u017fubtotal", "\u0131nvoice \u0130BAN",
             "x" * 19990 + " invoice", "tot" + "al"]
    for text in texts:
        assert doc_type_scores([], text) == every_cue(text), text[:40]
    assert doc_type_scores([], "\u0131nvoice")["invoice"] == 2.0  # dotless i: IGNORECASE's "invoice", found
