"""Receipt fields from layout: company name block, address block end, total evidence (synthetic pages only)."""

from __future__ import annotations

from doc_pipeline.core.fields import extract_fields
from doc_pipeline.core.fields.typed import _fix_address_ocr, _fix_name_ocr
from doc_pipeline.core.models import Page, PageKind, Word

CHAR_W = 6.0


def centred_page(lines: list[str | tuple[str, float]], gap: float = 3.0) -> Page:
    """Lines centred on x=150 (receipt header style); a (text, height) tuple sets that line's print height."""
    words, y = [], 30.0
    for line in lines:
        text, h = (line, 10.0) if isinstance(line, str) else line
        w = CHAR_W * h / 10.0
        x = 150.0 - w * len(text) / 2
        for tok in text.split():
            words.append(Word(text=tok, bbox=(x, y, x + w * len(tok), y + h), conf=0.95))
            x += w * (len(tok) + 1)
        y += h + gap
    return Page(page_no=1, kind=PageKind.scanned, width=300.0, height=800.0, words=words, engine="rapidocr")


def fields_of(lines) -> dict[str, str]:
    r = extract_fields([centred_page(lines)], doc_type_hint="receipt")
    return {f.name: f.value for f in r.fields}


TAIL = ["Tel: 04-262 0635", "Date : 13/04/2018", "ITEM 1 25.00", "TOTAL 25.00"]


def test_name_over_two_lines_above_the_legal_form_is_joined():
    f = fields_of(["GHEE HIANG", "GH DISTRIBUTOR & MARKETING SDN BHD", "(1097826-H)", "95, Beach Road,",
                   "10300 Penang.", *TAIL])
    assert f["company"] == "GHEE HIANG GH DISTRIBUTOR & MARKETING SDN BHD"
    # the registration number line under the name is not the start of the address
    assert f["address"] == "95, Beach Road, 10300 Penang."


def test_line_above_in_larger_print_or_noise_is_not_part_of_the_name():
    f = fields_of([("LOGO BRAND", 20.0), "ANN GIAP TRADING SDN BHD", "NO. 135, JALAN BANGI,", "43500 SEMENYIH",
                   *TAIL])
    assert f["company"] == "ANN GIAP TRADING SDN BHD"
    f = fields_of(["(LTP T G", "ANN GIAP TRADING SDN BHD SE", "NO. 135, JALAN BANGI,", "43500 SEMENYIH", *TAIL])
    assert f["company"] == "ANN GIAP TRADING SDN BHD"


def test_handwritten_note_above_loses_to_the_registered_name():
    f = fields_of(["staff ref", "KEDAI ROTI SDN BHD", "NO. 5, JALAN MAWAR,", "43000 KAJANG", *TAIL])
    assert f["company"] == "KEDAI ROTI SDN BHD"


def test_outlet_code_after_the_legal_form_is_cut_and_address_line_is_no_name():
    f = fields_of(["AEON CO. (M) BHD (126926-H) A05148", "3RD FLR, AEON TAMAN MALURI SC", "JLN JEJAKA, TAMAN MALURI",
                   "CHERAS, 55100 KUALA LUMPUR", "GST ID : 002017394688", *TAIL])
    assert f["company"] == "AEON CO. (M) BHD"
    assert f["address"] == "3RD FLR, AEON TAMAN MALURI SC JLN JEJAKA, TAMAN MALURI CHERAS, 55100 KUALA LUMPUR"


def test_branch_name_after_the_postcode_line_ends_the_address():
    base = ["POPULAR BOOK", "CO. (M) SDN BHD", "(Co. No. 113825-W)", "No 8, Jalan 7/118B, Desa Tun Razak",
            "56000 Kuala Lumpur, Malaysia"]
    f = fields_of([*base, "SUNWAY VELOCITY", "Tel : 03-9201 6281", "29/03/18 13:24", "Total RM 9.65"])
    assert f["address"] == "No 8, Jalan 7/118B, Desa Tun Razak 56000 Kuala Lumpur, Malaysia"
    # an upper-case address goes on in upper case (the state line), and a line with an address word stays
    f = fields_of(["TEO HENG STATIONERY & BOOKS", "NO. 53, JALAN BESAR, 45600 BATANG BERJUNTAI:",
                   "SELANGOR DARUL EHSAN", "TEL : 03-3271 9872", "DATE : 18/01/2018", "TOTAL 4.90"])
    assert f["address"] == "NO. 53, JALAN BESAR, 45600 BATANG BERJUNTAI SELANGOR DARUL EHSAN"
    f = fields_of([*base, "KL FESTIVAL CITY MALL", "Tel : 03-41424540", "07/01/18 14:41", "Total RM 31.45"])
    assert f["address"].endswith("Malaysia KL FESTIVAL CITY MALL")


def test_address_and_name_punctuation_and_ocr_fixes():
    assert _fix_address_ocr("NO.32 & 33. JALAN SR 1 /9, SEKSYEN 9. TAMAN") == "NO.32 & 33, JALAN SR 1/9, SEKSYEN 9, TAMAN"
    assert _fix_address_ocr("Level'6, Jalan $S21/39 , 47400") == "Level 6, Jalan SS21/39, 47400"
    assert _fix_name_ocr("GERBANG ALAF RESTAURANTS SDN EHD") == "GERBANG ALAF RESTAURANTS SDN BHD"
    assert _fix_name_ocr("WAHIN HARDWARE SIN BHD") == "WAHIN HARDWARE SDN BHD"
    assert _fix_name_ocr("KING'S CONFECTIONERY $/B") == "KING'S CONFECTIONERY S/B"
    assert _fix_name_ocr("TEO HENG STATIONERY § BOOKS") == "TEO HENG STATIONERY & BOOKS"
    assert _fix_name_ocr("THE BIG BAD WOLF") == "THE BIG BAD WOLF"  # two 3-letter words, neither a legal form


def test_total_evidence_from_differently_worded_labels_and_arithmetic():
    head = ["WARAKUYA SDN BHD", "JALAN PERMAS UTARA 1,", "81750 MASAI JOHOR", "Date: 07/05/2018"]
    # the first item sits under a "Total RM" column header; the same amount under two different total labels
    # and the payment arithmetic outweighs it; the "GST @ 6%" line above the totals is no tax summary
    f = fields_of([*head, "Qty Code/Desc Total RM", "1 SHOGA YAKI SET 19.90", "1 ICED TEA 1.00",
                   "Charge 10% 2.09", "GST @ 6%", "Rounding Adj : 0.03", "Total Amount : 24.40", "TOTAL : RM 24.40",
                   "CASH 30.40", "Change RM: 6.00"])
    assert f["total"] == "24.40"
    # a total line naming the tax rate and holding a smaller amount is the tax
    f = fields_of([*head, "1 L. Filet0Fish 11.10", "Eat-In Total (incl GST) 11.10", "Total Rounded 11.10",
                   "Cash Tendered 21.10", "Change 10.00", "TOTAL INCLUDES 6% GST 0.63"])
    assert f["total"] == "11.10"
    # the same label repeated (a summary printed twice) is no further evidence; a signed tendered amount
    f = fields_of([*head, "Total 0% supplies: 23.63", "Total 6% supplies (Inc. GST): 30.52",
                   "Total 0% supplies: 23.63", "Total Payable: 54.15"])
    assert f["total"] == "54.15"
    f = fields_of([*head, "Total RM Incl. of GST 31.47", "Rounding Adj -0.02", "Total RM 31.45", "Cash -50.00",
                   "CHANGE 18.55"])
    assert f["total"] == "31.45"
