"""General receipt / contract rules and per-OCR calibration groups (synthetic pages and texts, no corpus)."""

from __future__ import annotations

import json
import math

from doc_pipeline.core.fields import calibration, extract_fields
from doc_pipeline.core.fields.contract import parties, term
from doc_pipeline.core.fields.layout_text import DocText
from doc_pipeline.core.fields.typed import _fix_address_ocr
from doc_pipeline.core.models import Page, PageKind, Word


def page_from_lines(lines: list[str], engine: str = "", kind: PageKind = PageKind.scanned) -> Page:
    words = []
    for i, line in enumerate(lines):
        y = 40.0 + 14.0 * i
        x = 20.0
        for tok in line.split():
            words.append(Word(text=tok, bbox=(x, y, x + 6.0 * len(tok), y + 10.0), conf=0.95))
            x += 6.0 * (len(tok) + 1)
    return Page(page_no=1, kind=kind, width=300.0, height=800.0, words=words, engine=engine)


def fields_of(lines: list[str]) -> dict[str, str]:
    r = extract_fields([page_from_lines(lines)], doc_type_hint="receipt")
    return {f.name: f.value for f in r.fields}


def test_total_from_payment_arithmetic_and_tax_lines_are_not_totals():
    f = fields_of(["KEDAI ROTI SDN BHD", "NO. 5, JALAN MAWAR,", "43000 KAJANG", "TEL: 03-1111 2222",
                   "DATE: 05/03/2018", "SCONE 1 7.50", "Due 7.50", "Pay 20.00", "Change 12.50",
                   "(Total Included GST @ 6% : 0.42)"])
    assert f["total"] == "7.50"


def test_paid_minus_change_when_the_total_line_is_unreadable():
    f = fields_of(["KEDAI BUKU SDN BHD", "NO. 5, JALAN MAWAR,", "43000 KAJANG", "DATE: 05/03/2018",
                   "BOOK 1 145.00", "TOTAL FER:20iU", "CASH 153.35", "CHANGE 0.00", "GST SUMMARY",
                   "SR 6.00 144.68 8.68", "TOTAL : 144.68 8.68"])
    assert f["total"] == "153.35"


def test_company_name_over_two_lines_and_registration_number_cut():
    f = fields_of(["POPULAR BOOK-", "CO. (M) SDN BHD", "(Company No. 113825-W)", "(GST Reg No. 001492992000)",
                   "No 8, Jalan 7/118B, Desa Tun Razak", "56000 Kuala Lumpur, Malaysia", "Tel : 03-41424540",
                   "DATE: 07/01/2018", "TOTAL 31.45"])
    assert f["company"] == "POPULAR BOOK CO. (M) SDN BHD"
    # the address starts after the registration/GST lines and stops at the phone line
    assert f["address"] == "No 8, Jalan 7/118B, Desa Tun Razak 56000 Kuala Lumpur, Malaysia"


def test_registration_number_inside_the_name_and_branch_line_before_the_street():
    f = fields_of(["TEO HENG STATIONERY (001451637-M) & BOOKS", "IKEA Cheras", "NO. 53, JALAN BESAR,",
                   "45600 BATANG BERJUNTAI", "TEL: 03-3271 9872", "DATE: 18/01/2018", "TOTAL 4.90"])
    assert f["company"] == "TEO HENG STATIONERY & BOOKS"
    assert f["address"] == "NO. 53, JALAN BESAR, 45600 BATANG BERJUNTAI"


def test_address_ocr_fixes():
    assert _fix_address_ocr("No: G3, BIk G, JIn PJU 1A/3,Ara Damansara") == "No: G3, Blk G, Jln PJU 1A/3, Ara Damansara"
    assert _fix_address_ocr("NO. 53, JALAN 8ESAR, Leve1 2") == "NO. 53, JALAN BESAR, Level 2"


def test_date_run_into_time_and_compact_date():
    assert fields_of(["SHOP SDN BHD", "Date: 15/07/201712:07", "TOTAL 1.00"])["date"] == "15/07/2017"
    assert fields_of(["SHOP SDN BHD", "27032018 No CS-20243", "TOTAL 1.00"])["date"] == "27032018"


def doc_of(text: str) -> DocText:
    return DocText([page_from_lines(text.split("\n"), kind=PageKind.native)])


def test_upper_case_parties_and_person_in_capitals():
    d = doc_of("NON-DISCLOSURE AGREEMENT\nThis Agreement is made by and between CUBIC CORPORATION, a Delaware\n"
               "corporation, and JOHN D. THOMAS (“Recipient”).\n1. Recipient may provide services.")
    assert [c.value for c in parties(d)] == ["CUBIC CORPORATION", "JOHN D. THOMAS"]


def test_letter_agreement_parties_without_between():
    d = doc_of("CONFIDENTIALITY AGREEMENT\nNovember 6, 2009\nHID Global Corporation\n15370 Barranca Parkway\n"
               "Dear HID Global Corporation:\nIn connection with a possible transaction with LaserCard Corporation\n"
               "(the “Company”), you have requested information.")
    assert [c.value for c in parties(d)] == ["HID Global Corporation", "LaserCard Corporation"]


def test_defined_documents_are_not_people():
    d = doc_of("AGREEMENT\nby and between Acme Holdings, Inc., a Delaware corporation (“Acme”), and Beta LLC.\n"
               "Acme and Beta are parties to that Mutual General Release (“Release”).")
    assert "Mutual General Release" not in [c.value for c in parties(d)]


def test_post_employment_restriction_is_not_the_agreement_term():
    d = doc_of("Employee shall not, during the Term and for a period of two years thereafter, solicit clients.\n"
               "Non-Competition. For a period of one (1) year following the termination of employment, ...")
    assert term(d) == []
    d2 = doc_of("7. Term. The Recipient's duty under this Agreement expires ten years from the date of disclosure.")
    assert [c.normalized for c in term(d2)] == ["P10Y"]


def test_calibration_maps_per_ocr_family(tmp_path, monkeypatch):
    f = tmp_path / "cal.json"
    f.write_text(json.dumps({"maps": {"default": [[0.0, 0.5], [1.0, 0.5]],
                                      "default@rapidocr": [[0.0, 0.9], [1.0, 0.9]]}}))
    monkeypatch.setattr(calibration, "CALIBRATION_FILE", f)
    calibration.shipped_map.cache_clear()
    calibration.shipped_logistic.cache_clear()
    try:
        rapid = [page_from_lines(["x"], engine="rapidocr+tesseract")]
        tess = [page_from_lines(["x"], engine="tesseract")]
        assert calibration.ocr_family(rapid) == "rapidocr" and calibration.ocr_family(tess) == "tesseract"
        assert calibration.ocr_family([page_from_lines(["x"], kind=PageKind.native)]) is None
        with calibration.calibrating_for(rapid):
            assert abs(calibration.calibrate(0.5) - (0.97 * 0.9 + 0.015)) < 1e-9
        with calibration.calibrating_for(tess):  # no tesseract map: the pooled one
            assert abs(calibration.calibrate(0.5) - (0.97 * 0.5 + 0.015)) < 1e-9
    finally:
        calibration.shipped_map.cache_clear()
        calibration.shipped_logistic.cache_clear()


def test_logistic_calibration_learns_ocr_family_offsets_and_wins_over_the_step_map(tmp_path, monkeypatch):
    import random

    rng = random.Random(0)
    # the same raw score is right more often on RapidOCR pages than on Tesseract pages
    def shifted(d):
        return lambda s: 1 / (1 + ((1 - s) / s) * math.exp(-d))  # the raw score's odds times e**d

    truth = {"rapidocr": shifted(1.2), "tesseract": shifted(-1.2), None: shifted(0.0)}
    data = [(s, rng.random() < truth[fam](s), fam) for fam in truth
            for s in (rng.uniform(0.02, 0.98) for _ in range(600))]
    model = calibration.fit_logistic(data)
    assert model["family"]["rapidocr"] > 0.5 > -0.5 > model["family"]["tesseract"]
    for fam in truth:  # fitted probabilities follow each family's accuracy
        sel = [(calibration.apply_logistic(model, s, fam), ok) for s, ok, f in data if f == fam]
        assert calibration.expected_calibration_error(sel) < 0.06
    pooled = calibration.fit_isotonic([(s, ok) for s, ok, _ in data])
    per_fam = [(calibration.apply_map(pooled, s), ok) for s, ok, f in data if f == "rapidocr"]
    assert calibration.expected_calibration_error(per_fam) > 0.1  # one pooled step map cannot serve both engines
    f = tmp_path / "cal.json"
    f.write_text(json.dumps({"maps": {"default": [[0.0, 0.5], [1.0, 0.5]]}, "logistic": {"default": model}}))
    monkeypatch.setattr(calibration, "CALIBRATION_FILE", f)
    calibration.shipped_map.cache_clear()
    calibration.shipped_logistic.cache_clear()
    try:
        with calibration.calibrating_for([page_from_lines(["x"], engine="rapidocr")]):
            rapid = calibration.calibrate(0.4, "total")  # a group without its own model: "default"
        with calibration.calibrating_for([page_from_lines(["x"], engine="tesseract")]):
            tess = calibration.calibrate(0.4, "kv")
        assert rapid > 0.55 > 0.3 > tess
    finally:
        calibration.shipped_map.cache_clear()
        calibration.shipped_logistic.cache_clear()
