"""Layout key-value pairing (core/fields/kv.py) on synthetic word boxes, and the FUNSD pair comparison form."""

from __future__ import annotations

from doc_pipeline.core.fields.kv import kv_pairs, phrases
from doc_pipeline.core.models import Page, PageKind, Word
from doc_pipeline.evaluation.scoring import kv_compare_form, kv_counts

CH = 6.0  # points per character
LH = 10.0  # word height


def page(items: list[tuple[float, float, str]]) -> Page:
    """(x, y, text) phrases; words 6 pt per character, one space between words."""
    words = []
    for x, y, text in items:
        for tok in text.split():
            words.append(Word(text=tok, bbox=(x, y, x + CH * len(tok), y + LH), conf=0.95))
            x += CH * (len(tok) + 1)
    return Page(page_no=1, kind=PageKind.scanned, width=595, height=842, words=words)


def pairs(p: Page) -> list[tuple[str, str]]:
    return [(f.name, f.value) for f in kv_pairs([p])]


def test_table_header_pairs_every_cell_below_and_stacked_header_lines():
    items = [(40, 100, "NO. OF")]  # a two-line header: "NO. OF" above "STORES"
    items += [(200, 114, "NAME OF ACCOUNT"), (40, 114, "STORES")]
    rows = [("12", "Acme Mart"), ("7", "Quick Stop"), ("31", "Corner Shop")]
    for i, (n, name) in enumerate(rows):
        items += [(46, 150 + 16 * i, n), (200, 150 + 16 * i, name)]
    got = pairs(page(items))
    assert ("no. of stores", "12") in got and ("no. of stores", "31") in got
    assert [v for k, v in got if k == "name of account"] == ["Acme Mart", "Quick Stop", "Corner Shop"]


def test_table_with_label_colon_headers_and_cells_read_closer_than_the_phrase_gap():
    items = [(40, 100, "Recipient:"), (200, 100, "Company:"), (360, 100, "Fax No.:")]
    # the company and fax cells sit 1 character apart: one phrase by gap, two cells by the header columns
    items += [(40, 116, "Mr. A. Smith"), (200, 116, "Smith & Sons Ltd."), (200 + CH * 18, 116, "555-0101")]
    items += [(40, 132, "Ms. B. Jones"), (200, 132, "Jones Corp."), (360, 132, "555-0202")]
    got = pairs(page(items))
    assert ("company", "Smith & Sons Ltd.") in got and ("fax no.", "555-0101") in got
    assert ("recipient", "Ms. B. Jones") in got and ("fax no.", "555-0202") in got


def test_label_one_value_right_else_below_and_check_marks():
    items = [(40, 100, "TO:"), (120, 100, "George Baroody"),
             (40, 130, "SUBJECT:"), (40, 144, "Quarterly report"),
             (300, 100, "SEP 15"), (350, 100, "x"),  # a ticked box answers the label left of it
             (300, 170, "OCT 20"), (350, 170, "☐")]  # an empty box is no answer
    got = pairs(page(items))
    assert ("to", "George Baroody") in got
    assert ("subject", "Quarterly report") in got
    assert ("sep 15", "x") in got
    assert not any(v == "☐" for _, v in got)
    assert [k for k, _ in got].count("to") == 1  # one value per label


def test_phrases_split_before_an_upper_case_label_after_other_text():
    p = page([(40, 100, "Milw. South DIVISION NAME:")])
    assert [ph.text for ph in phrases(p)[0]] == ["Milw. South", "DIVISION NAME:"]


def test_pair_comparison_ignores_spaces_at_punctuation_only():
    assert kv_compare_form("12 /10 /98") == kv_compare_form("12/10/98")
    assert kv_compare_form("(614) 466- 5087") == kv_compare_form("(614)466-5087")
    assert kv_compare_form("George Baroody") != kv_compare_form("GeorgeBaroody")
    c = kv_counts([("DATE:", "12 /10 /98")], [("date", "12/10/98")])
    assert (c.tp, c.fp, c.fn) == (1, 0, 0)


def test_table_header_wrapped_over_interleaved_lines():
    # OCR lines of a wrapped header interleave: "Name" / "of Account" and "Number of" / "Stores" sit on lines
    # 6 pt apart (boxes overlapping), each column's header is its stacked parts
    items = [(40, 100, "Name"), (200, 100, "Number of"), (66, 106, "of Account"), (206, 112, "Stores")]
    for i, (name, n) in enumerate([("Acme Mart", "12"), ("Quick Stop", "7"), ("Corner Shop", "31")]):
        items += [(40, 130 + 16 * i, name), (212, 130 + 16 * i, n)]
    got = pairs(page(items))
    assert [v for k, v in got if k == "name of account"] == ["Acme Mart", "Quick Stop", "Corner Shop"]
    assert [v for k, v in got if k == "number of stores"] == ["12", "7", "31"]


def test_table_cells_written_from_the_header_left_edge():
    # short header "To", long names under it: the names run past the midpoint to the next header, not past it
    items = [(40, 100, "To"), (145, 100, "Fax Number")]
    rows = [("Thomas M. Sobol", "617-439-3278"), ("Joseph F. Rice", "843-720-9290"), ("Mary Jones", "415-956-1008")]
    for i, (name, fax) in enumerate(rows):
        items += [(40, 116 + 16 * i, name), (145, 116 + 16 * i, fax)]
    got = pairs(page(items))
    assert [v for k, v in got if k == "to"] == ["Thomas M. Sobol", "Joseph F. Rice", "Mary Jones"]
    assert ("fax number", "843-720-9290") in got


def test_table_ends_at_a_wide_gap_and_skips_a_number_in_the_margin():
    items = [(40, 100, "ITEM"), (200, 100, "CASES")]
    for i, (item, n) in enumerate([("Caps", "2"), ("Bottles", "4"), ("Shirts", "1")]):
        items += [(40, 116 + 16 * i, item), (206, 116 + 16 * i, n)]
    items += [(520, 148, "82254765")]  # a stamp far right of the table
    items += [(40, 200, "Signature")]  # after a gap far wider than the rows' spacing
    got = pairs(page(items))
    assert [v for k, v in got if k == "item"] == ["Caps", "Bottles", "Shirts"]
    assert [v for k, v in got if k == "cases"] == ["2", "4", "1"]


def test_value_runs_on_over_left_aligned_lines():
    items = [(40, 100, "DISTRIBUTOR INVOLVEMENT:"),
             (40, 114, "Assembly of promotional products and"), (40, 126, "shipment to retail accounts."),
             (40, 150, "REMARKS:"), (100, 150, "Sales were good in"), (100, 162, "the northern region."),
             (40, 174, "FROM:"), (100, 174, "R. G. Ryan")]  # a label's line ends the run
    got = pairs(page(items))
    assert ("distributor involvement", "Assembly of promotional products and shipment to retail accounts.") in got
    assert ("remarks", "Sales were good in the northern region.") in got
    assert ("from", "R. G. Ryan") in got


def test_upper_case_label_with_value_under_it_but_not_a_title():
    words = [Word(text=t, bbox=(x, 60, x + 10 * len(t), 76), conf=0.95)  # a title in larger print
             for x, t in ((40, "TRAVEL"), (110, "SHEET"))]
    p = page([(40, 82, "Please fill in every line"),
              (40, 120, "PHYSICAL STATE"), (40, 134, "A crystalline solid at room temperature")])
    p.words += words
    got = pairs(p)
    assert ("physical state", "A crystalline solid at room temperature") in got
    assert not any(k == "travel sheet" for k, _ in got)


def test_check_box_belongs_to_the_nearer_label_and_options_are_no_values():
    items = [(40, 100, "BILLING:"), (100, 100, "☑"), (106, 100, "BILL AS SHIPPED"), (220, 100, "☐"),
             (226, 100, "BILL LATER"),
             (40, 120, "HOLES:"), (100, 120, "YES"), (118, 120, "☑"), (150, 120, "NO"), (162, 120, "☐")]
    got = pairs(page(items))
    assert ("bill as shipped", "☑") in got and ("yes", "☑") in got
    assert not any(k in ("billing", "holes", "no", "bill later") for k, _ in got)
    # the answer is typed: "checked", whatever mark was read (a tick read as "x" too)
    assert {f.name: f.normalized for f in kv_pairs([page(items)])}["yes"] == "checked"
    items[7] = (118, 120, "x")
    assert {(f.name, f.value, f.normalized) for f in kv_pairs([page(items)])} >= {("yes", "x", "checked")}


def test_column_of_printed_labels_with_values_right_of_them():
    # values filled in (not written like the printed labels: lower case, digits), some lines left blank
    items = [(40, 100, "Media Type"), (200, 100, "direct mail"),
             (40, 114, "Media Name"), (200, 114, "Competitive 21-34 years"),
             (40, 128, "Issue Frequency"),
             (40, 142, "Coupon Value"), (200, 142, "$1.50 OFF")]
    got = pairs(page(items))
    assert ("media type", "direct mail") in got and ("coupon value", "$1.50 OFF") in got
    assert ("media name", "Competitive 21-34 years") in got
    assert not any(k == "issue frequency" for k, _ in got)
    # a blank form: a second column of printed labels holds no values
    blank = [(40, 300, "Name"), (200, 300, "Position"), (40, 314, "Date"), (200, 314, "Phone Number"),
             (40, 328, "City"), (200, 328, "State")]
    assert pairs(page(blank)) == []


def test_label_wrapped_over_two_lines():
    items = [(40, 100, "PLAINTIFF'S"), (40, 111, "COUNSEL:"), (140, 111, "Wartnick, Chaber & Smith")]
    assert ("plaintiff's counsel", "Wartnick, Chaber & Smith") in pairs(page(items))


def test_a_time_in_a_fax_header_line_is_no_label():
    p = page([(40, 100, "11/12/99 19: 32 FAX 212 450 4800"), (40, 130, "DIV. NAME/NO: Nassau")])
    assert [ph.text for ph in phrases(p)[0]] == ["11/12/99 19: 32 FAX 212 450 4800"]
    assert pairs(p) == [("div. name/no", "Nassau")]


def test_confidence_follows_how_reliable_the_pairing_rule_is():
    """Same OCR confidence everywhere: a table cell under its header scores above a value right of 'Label:', which
    scores above a value found only on the line below a 'Label:' (the rules' priors, RULE_PRIOR)."""
    from doc_pipeline.core.fields.kv import RULE_PRIOR

    assert RULE_PRIOR["table"] > RULE_PRIOR["label_right"] > RULE_PRIOR["label_below"]
    items = [(40, 60, "Date:"), (100, 60, "March 3, 1998")]  # label_right
    items += [(40, 90, "Remarks:"), (60, 104, "see the attached sheet")]  # label_below
    items += [(40, 200, "NAME OF ACCOUNT"), (240, 200, "STORES")]  # a table
    for i, (name, n) in enumerate([("Acme Mart", "12"), ("Quick Stop", "7"), ("Corner Shop", "31")]):
        items += [(40, 216 + 16 * i, name), (246, 216 + 16 * i, n)]
    conf = {(f.name, f.value): f.confidence for f in kv_pairs([page(items)])}
    table = conf[("name of account", "Acme Mart")]
    right = conf[("date", "March 3, 1998")]
    below = conf[("remarks", "see the attached sheet")]
    assert table > right > below, (table, right, below)


def rapid_page(items: list[tuple[float, float, str]], pad: float = 1.4) -> Page:
    """Like ``page`` but read by RapidOCR: every box ``pad`` times as tall as the printed word (detector dilation)."""
    p = page(items)
    words = [w.model_copy(update={"bbox": (w.bbox[0], w.bbox[1] - (pad - 1) * LH / 2, w.bbox[2],
                                           w.bbox[3] + (pad - 1) * LH / 2)}) for w in p.words]
    return p.model_copy(update={"words": words, "engine": "rapidocr"})


def test_value_runs_on_over_lines_whose_dilated_ocr_boxes_overlap():
    # lines 9 pt apart with 14 pt tall boxes: each box overlaps the one above by 5 pt (0.36 of its height)
    items = [(40, 100, "Mail to:"), (120, 100, "Dr. P. Hunter"), (120, 109, "Experiment Station"),
             (120, 118, "Route 5 Box 113")]
    got = pairs(rapid_page(items))
    assert ("mail to", "Dr. P. Hunter Experiment Station Route 5 Box 113") in got
    # text-layer / Tesseract boxes are not shrunk: the same page without the engine keeps its geometry
    assert _box_pad_of(page(items)) == 1.0 and _box_pad_of(rapid_page(items)) > 1.0


def _box_pad_of(p: Page) -> float:
    from doc_pipeline.core.fields.kv import _box_pad

    return _box_pad(p)


def test_box_glyphs_glued_to_words_are_split_and_a_ticked_glyph_reads_checked():
    items = [(40, 100, "HOLES:"), (100, 100, "YES"), (130, 100, "区"), (160, 100, "NO□"),
             (40, 130, "BILLING:"), (100, 130, "区SHIP NOW"), (200, 130, "□HOLD")]
    got = pairs(page(items))
    assert ("yes", "☑") in got  # a crossed box, however the OCR drew it, answers as checked
    assert ("ship now", "☑") in got
    assert not any(v in ("□", "NO□", "区SHIP NOW") for _, v in got)  # empty boxes answer nothing
    assert not any(k in ("no", "hold") for k, _ in got)


def test_label_value_right_of_it_is_not_taken_by_the_label_above_and_bullets_and_specks_dropped():
    items = [(40, 100, "with the following changes:"),
             (40, 114, "Glass Mat:"), (160, 114, "Delete C-glass"),
             (40, 140, "• NOTE:"), (100, 140, "Filed with the clerk"),
             (40, 170, "TO:"), (70, 170, "."), (120, 170, "K. A. Sparrow")]
    got = pairs(page(items))
    assert ("glass mat", "Delete C-glass") in got
    assert not any(k == "with the following changes" for k, _ in got)
    assert ("note", "Filed with the clerk") in got
    assert ("to", "K. A. Sparrow") in got


def test_label_read_glued_to_its_value_is_split():
    got = pairs(page([(40, 100, "ADMIN. OFFICE"), (160, 100, "FaX:614-466-5087"),
                      (40, 160, "EFFECTIVENESS OF:Transition Plan")]))
    assert ("fax", "614-466-5087") in got
    assert ("effectiveness of", "Transition Plan") in got


def test_upper_case_label_read_in_one_phrase_with_its_value():
    items = [(40, 100, "DATE August 14, 1990"), (40, 130, "STUDY NUMBER I-7016.401"),
             (40, 160, "INITIATION DATEOctober 27, 1986"),  # label and value glued into one word
             (40, 190, "FAX NO. (614) 466-5087")]
    got = pairs(page(items))
    assert ("date", "August 14, 1990") in got
    assert ("study number", "I-7016.401") in got
    assert ("initiation date", "October 27, 1986") in got
    assert ("fax no.", "(614) 466-5087") in got


def test_upper_case_words_with_a_short_number_or_code_are_no_label_and_value():
    items = [(40, 100, "SEP 15"), (140, 100, "KENT III 100"), (260, 100, "NEWPORT K. S."),
             (40, 130, "JANUARY 31, 1997"), (40, 160, "AMENDMENT (Attach additional sheets)"),
             (40, 190, "ACO Texaco"), (40, 220, "CONFIDENTIAL, AND EXEMPT FROM LAW. If the reader")]
    keys = {k for k, _ in pairs(page(items))}
    assert not keys & {"sep", "kent iii", "kent", "newport", "january", "amendment", "aco", "confidential"}
    assert not any(k.startswith("confidential, and") for k in keys)


def test_table_row_wrapped_onto_a_tight_line_with_its_first_column_filled():
    items = [(40, 100, "To"), (200, 100, "Fax Number"), (360, 100, "Company")]
    rows = [(120, "Thomas M. Sobol", "617-439-3278", "Brown Rudnick"),
            (136, "Joseph F. Rice", "843-720-9290", "Ness Motley"),
            (152, "Robert V. Costello", "617-722-0286", "Schneider, Reilly,"),
            (178, "Richard M. Heimann", "415-956-1008", "Lieff, Cabraser")]
    for y, a, b, c in rows:
        items += [(40, y, a), (200, y, b), (360, y, c)]
    items += [(40, 162, "Jeffrey D. Woolf"), (360, 162, "Zabin & Costello")]  # tight under its row
    got = pairs(page(items))
    assert ("to", "Robert V. Costello Jeffrey D. Woolf") in got
    assert ("company", "Schneider, Reilly, Zabin & Costello") in got
    assert ("fax number", "415-956-1008") in got and ("to", "Richard M. Heimann") in got


def test_low_scoring_pairs_are_not_reported():
    from doc_pipeline.core.fields.kv import KV_MIN_SCORE, RULE_PRIOR

    # an upper-case label right of its value read with low OCR confidence: raw score under the cut
    p = page([(40, 100, "DIVISION"), (160, 100, "Milwaukee North")])
    assert pairs(p) == [("division", "Milwaukee North")]
    low = p.model_copy(update={"words": [w.model_copy(update={"conf": 0.3}) for w in p.words]})
    assert RULE_PRIOR["caps_label_right"] * 0.3 < KV_MIN_SCORE
    assert pairs(low) == []
    # one word read with low confidence is enough (one misread word makes the pair wrong), however sure the rest is
    one = p.model_copy(update={"words": [w.model_copy(update={"conf": 0.4 if w.text == "North" else 0.97})
                                         for w in p.words]})
    assert pairs(one) == []
    # ... but a table cell or a value right of "Label:" (more reliable rules) with that word is still reported
    t = page([(40, 100, "Region:"), (120, 100, "Milwaukee North")])
    t = t.model_copy(update={"words": [w.model_copy(update={"conf": 0.45 if w.text == "North" else 0.97})
                                       for w in t.words]})
    assert pairs(t) == [("region", "Milwaukee North")]
    # a label without a form word (LABEL_WORDS) counts as less sure for the cut: the same read is not reported
    from doc_pipeline.core.fields.kv import NO_FORM_WORD

    assert RULE_PRIOR["label_right"] * 0.45 >= KV_MIN_SCORE > RULE_PRIOR["label_right"] * 0.45 * NO_FORM_WORD
    v = page([(40, 100, "Vehicle:"), (120, 100, "Milwaukee North")])
    v = v.model_copy(update={"words": [w.model_copy(update={"conf": 0.45 if w.text == "North" else 0.97})
                                       for w in v.words]})
    assert pairs(v) == []
    assert pairs(page([(40, 100, "Vehicle:"), (120, 100, "Milwaukee North")])) == [("vehicle", "Milwaukee North")]


def test_mixed_case_label_without_colon_takes_a_filled_in_value_right_or_below():
    # a row of labels over a row of values on a line that also holds a "Label: value" (so no table)
    items = [(40, 100, "Name: Dan Straka"), (260, 100, "Date Prepared"), (400, 100, "Page")]
    items += [(262, 114, "8-17-88"), (402, 114, "1 of 1")]
    items += [(40, 160, "Date"), (90, 160, "October 17, 1979")]  # a label without colon, its value right of it
    got = pairs(page(items))
    assert ("name", "Dan Straka") in got
    assert ("date prepared", "8-17-88") in got and ("page", "1 of 1") in got
    assert ("date", "October 17, 1979") in got


def test_names_and_printed_text_without_colon_are_no_labels():
    # a name over an address (no form word in the name), printed text right of a form word (no digits: no entry)
    items = [(40, 100, "Madelyn J. Chaber"), (40, 114, "101 California Street, Suite 2200")]
    # (each at its own left edge: left-aligned printed lines would read as a column of labels)
    items += [(100, 160, "Research Firm"), (220, 160, "The Data Group")]
    items += [(160, 200, "Telephone Number"), (160, 214, "Direct Line")]  # a label under a label
    assert pairs(page(items)) == []


def test_value_under_a_label_is_no_printed_label_or_parenthesised_note():
    items = [(40, 100, "Ship To:"), (40, 114, "CUSTOMER SHIPPING NUMBER")]
    items += [(40, 160, "Airline:"), (40, 174, "(CHECK ONE)")]
    items += [(40, 220, "Attn:"), (40, 234, "JOHN SMITH")]  # an upper-case name is a value
    items += [(40, 280, "Fax:"), (40, 294, "(614) 466-5087")]  # a phone number is a value
    got = pairs(page(items))
    assert not any(k in ("ship to", "airline") for k, _ in got)
    assert ("attn", "JOHN SMITH") in got and ("fax", "(614) 466-5087") in got


def test_a_number_sign_label_is_a_label_without_colon_and_no_value():
    items = [(40, 100, "DIVISION NAME:"), (200, 100, "#REPS"), (260, 100, "7")]
    got = pairs(page(items))
    assert ("#reps", "7") in got
    assert not any(v == "#REPS" for _, v in got)
    # the value under a count label is a number, not the product name on the next line
    assert pairs(page([(40, 100, "#CASES"), (40, 114, "KENT III K.S.")])) == []


def test_fax_header_lines_and_broken_off_sentences_are_no_upper_case_labels():
    items = [(40, 60, "97 TUE 18:39 FAX 212"), (300, 60, "5578")]
    items += [(40, 100, "OUR FAX NUMBER IS"), (200, 100, "(212) 935-6801.")]
    items += [(40, 140, "STUDY NUMBER"), (200, 140, "I-7016.401")]
    assert pairs(page(items)) == [("study number", "I-7016.401")]


def test_printed_item_name_takes_an_amount_right_of_it():
    items = [(100, 100, "Steel tips"), (220, 100, "$ 1,045.00")]
    items += [(160, 150, "Acme Products"), (300, 150, "Boston")]  # printed text, no amount: no pair
    assert pairs(page(items)) == [("steel tips", "$ 1,045.00")]


def test_upper_case_label_words_read_glued_are_spaced_again(monkeypatch):
    from doc_pipeline.core.fields import kv

    words = {"fax", "number", "date", "of", "event", "tele", "copy", "losi", "to", "quant", "required", "telecopy"}
    monkeypatch.setattr(kv, "_lexicon", lambda: frozenset(words))
    assert kv._respace("FAXNUMBER:") == "FAX NUMBER:"
    assert kv._respace("*DATE OFEVENT:") == "*DATE OF EVENT:"
    assert kv._respace("TELECOPY NO:") == "TELECOPY NO:"  # a dictionary word
    assert kv._respace("Losito") == "Losito"  # mixed case: a name
    assert kv._respace("QUANTTTYREQUIRED") == "QUANTTTYREQUIRED"  # no reading as dictionary words
    items = [(40, 100, "FAXNUMBER:"), (140, 100, "(336) 335-7392")]
    assert pairs(page(items)) == [("fax number", "(336) 335-7392")]


def test_caption_printed_under_its_value():
    items = [(200, 100, "March 30, 1993"), (210, 114, "Date")]
    items += [(40, 200, "Roper Starch"), (40, 214, "Research Firm")]  # printed text over a caption: no number
    assert pairs(page(items)) == [("date", "March 30, 1993")]


def test_label_notes_in_parentheses_and_number_sign_colon():
    # a label's note written in another case stays with it; "#:" ends a label
    p = page([(40, 100, "Acme Corp. PAGES (including Cover Sheet):"), (330, 100, "12")])
    assert [ph.text for ph in phrases(p)[0]][:2] == ["Acme Corp.", "PAGES (including Cover Sheet):"]
    assert ("pages (including cover sheet)", "12") in pairs(p)
    got = pairs(page([(40, 100, "Telephone:"), (200, 100, "FAX #:"), (260, 100, "(615) 638-6458")]))
    assert ("fax #", "(615) 638-6458") in got and not any(v == "FAX #:" for _, v in got)
    # a note right of a label is no value: the value is the phrase after it
    got = pairs(page([(40, 100, "Late Registration Fee:"), (200, 100, "(after September 1)"), (360, 100, "$150.00")]))
    assert got == [("late registration fee", "$150.00")]


def test_table_cell_that_is_a_printed_field_name_is_no_value():
    """A cell holding a form word, no digits and at most six words ("Company", "Sender", "Coupon Value") is a label
    the table ran on into, not a value of its column (1 of 9 such cells right on FUNSD's ground-truth words, 0 of 14
    on OCR words); the rest of its row is still read."""
    items = [(40, 200, "NAME OF ACCOUNT"), (240, 200, "STORES")]
    for i, (name, n) in enumerate([("Acme Mart", "12"), ("Quick Stop", "7"), ("Company", "31"), ("Corner Shop", "5")]):
        items += [(40, 216 + 16 * i, name), (246, 216 + 16 * i, n)]
    got = pairs(page(items))
    assert ("name of account", "Company") not in got
    assert ("name of account", "Corner Shop") in got and ("stores", "31") in got


def test_short_table_column_scores_below_a_long_one():
    """Same OCR confidence: a column with one or two cells ("table_short", 68% right on ground-truth words) scores
    below a longer one (95%); both are still reported (the score cut treats them alike)."""
    items = [(40, 100, "NAME OF ACCOUNT"), (240, 100, "STORES"), (40, 116, "Acme Mart"), (246, 116, "12"),
             (40, 132, "Quick Stop"), (246, 132, "7")]
    items += [(40, 200, "ITEM"), (240, 200, "QTY")]
    for i, (name, n) in enumerate([("Steel tips", "12"), ("Brass caps", "7"), ("Copper rods", "31")]):
        items += [(40, 216 + 16 * i, name), (246, 216 + 16 * i, n)]
    conf = {(f.name, f.value): f.confidence for f in kv_pairs([page(items)])}
    assert conf[("name of account", "Acme Mart")] < conf[("item", "Steel tips")]


def test_label_without_a_form_word_scores_below_one_with():
    """Same OCR confidence: "Flavor:" (no form word; "Label:" pairs without one are right 57% of the time on
    ground-truth words) scores below "Date:" (83%); both are reported."""
    items = [(40, 60, "Date:"), (100, 60, "March 3, 1998"), (40, 90, "Flavor:"), (100, 90, "Menthol Lights")]
    conf = {(f.name, f.value): f.confidence for f in kv_pairs([page(items)])}
    assert conf[("flavor", "Menthol Lights")] < conf[("date", "March 3, 1998")]
