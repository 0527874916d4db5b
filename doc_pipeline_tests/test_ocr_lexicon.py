"""Look-alike respelling of PP-OCR words against Tesseract's word list (core/ocr/lexicon.py)."""

import struct

import pytest

from doc_pipeline.core.ocr.base import OcrWord
from doc_pipeline.core.ocr.lexicon import (correct_lines, correct_word, dawg_words, tesseract_lexicon,
                                           traineddata_components, unicharset_chars)

LEX = {"amount", "total", "cook", "store", "facsimile", "dinar", "cashier", "please", "page", "pagel", "level",
       "jin", "email", "gmail", "off"}


@pytest.mark.parametrize("read, right", [
    ("Arnount", "Amount"),  # rn -> m
    ("Totai", "Total"),  # i -> l
    ("CO0K", "COOK"),  # a digit inside letters
    ("ST0RE:", "STORE:"),  # punctuation kept around the word
    ("FACS1MILE", "FACSIMILE"),
    ("Dlnar", "Dinar"),
    ("Gashier", "Cashier"),
    ("Pleaso", "Please"),
    ("0ff", "off"),  # 3 characters do when one is a digit
])
def test_one_lookalike_away_from_a_word_is_respelled(read, right):
    assert correct_word(read, LEX) == right


@pytest.mark.parametrize("word", [
    "Page1",  # a trailing digit is a number, not a misread 'l'
    "Jln",  # too short: abbreviations sit one look-alike from words (JIN)
    "Total",  # already a word
    "WAHIN",  # no single look-alike makes a word
    "12.50",
])
def test_words_left_alone(word):
    assert correct_word(word, LEX) == word


def test_ambiguous_candidates_are_not_guessed():
    assert correct_word("Bcll", {"bell", "boll"}) == "Bcll"  # c -> e or c -> o: two words
    assert correct_word("Bcll", {"bell"}) == "Bell"


def test_a_spelling_the_page_repeats_is_kept():
    lex = {"teon"}  # h -> n would make a word of the name
    lines = [[OcrWord("TEOH", (0, 0, 10, 10), 1.0), OcrWord("HARDWARE", (12, 0, 30, 10), 1.0)],
             [OcrWord("Cashier", (0, 20, 10, 30), 1.0), OcrWord("TEOH", (12, 20, 30, 30), 1.0)]]
    assert [w.text for ln in correct_lines(lines, lex) for w in ln] == ["TEOH", "HARDWARE", "Cashier", "TEOH"]
    single = [[OcrWord("TEOH", (0, 0, 10, 10), 1.0)]]
    assert correct_lines(single, lex)[0][0].text == "TEON"
    twice = [[OcrWord("0ff", (0, 0, 10, 10), 1.0)], [OcrWord("0ff", (0, 20, 10, 30), 1.0)]]
    assert [ln[0].text for ln in correct_lines(twice, LEX)] == ["off", "off"]  # a digit misread, even repeated


def _squished_dawg(words: list[str], chars: list[str]) -> bytes:
    """A tiny SquishedDawg in Tesseract's layout (a trie; flags: 1 last edge of node, 4 word end)."""
    trie: dict = {}
    for w in words:
        node = trie
        for c in w:
            node = node.setdefault(c, {})
        node["$"] = True
    edges: list[list] = []
    flag_bit = len(chars).bit_length()

    def emit(node) -> int:
        keys = sorted(k for k in node if k != "$")
        start = len(edges)
        edges.extend([None] * len(keys))
        for n, k in enumerate(keys):
            child = node[k]
            nxt = emit(child) if any(c != "$" for c in child) else 0
            flags = (1 if n == len(keys) - 1 else 0) | (4 if child.get("$") else 0)
            edges[start + n] = chars.index(k) | (flags << flag_bit) | (nxt << (flag_bit + 3))
        return start

    emit(trie)
    return struct.pack("<hii", 42, len(chars), len(edges)) + struct.pack(f"<{len(edges)}Q", *edges)


def test_dawg_reader_lists_every_word():
    chars = [" ", "a", "b", "c", "t"]
    words = ["a", "at", "bat", "cat", "cab"]
    assert sorted(dawg_words(_squished_dawg(words, chars), chars)) == sorted(words)


def test_traineddata_components_and_unicharset():
    uni = b"3\nNULL 0 Common 0\na 3 0,255,0,255 Latin 1 0 1 a\nb 3 0,255,0,255 Latin 2 0 2 b\n"
    payload = [uni, b"xyz"]
    n = 24
    offsets = [-1] * n
    pos = 4 + 8 * n
    offsets[21], offsets[19] = pos, pos + len(uni)
    data = struct.pack("<i", n) + struct.pack(f"<{n}q", *offsets) + payload[0] + payload[1]
    parts = traineddata_components(data)
    assert parts[21] == uni and parts[19] == b"xyz" and set(parts) == {19, 21}
    assert unicharset_chars(parts[21]) == [" ", "a", "b"]


def test_tesseract_lexicon_when_installed():
    lex = tesseract_lexicon()
    if not lex:
        pytest.skip("Tesseract's eng.traineddata not installed")
    assert {"amount", "total", "cashier", "qty"} <= lex and "arnount" not in lex


@pytest.mark.parametrize("read, right", [
    ("NOTÉ:", "NOTE:"),  # PP-OCR's stray accents on English words
    ("Prépared", "Prepared"),
    ("mentiòn", "mention"),
    ("yoù", "you"),  # short words too: only the marks change
    ("café", "café"),  # a word of the list with its accent stays
    ("Zérnik", "Zérnik"),  # without the marks no word either: a name
])
def test_stray_diacritics_are_dropped_when_that_makes_a_word(read, right):
    assert correct_word(read, LEX | {"note", "prepared", "mention", "you", "café"}) == right


def test_the_word_list_is_kept_on_the_host_for_the_next_process(docpipe_home, tmp_path, monkeypatch):
    """The DAWG is walked once per host: the list goes to the model cache folder (keyed by the file's hash) and a
    new process (here: the in-process cache cleared) reads that instead of decoding again."""
    from doc_pipeline.core.ocr import lexicon
    from doc_pipeline.core.ocr.tesseract import find_tessdata
    from doc_pipeline.settings import reload_settings

    try:
        find_tessdata()
    except RuntimeError:
        pytest.skip("Tesseract's eng.traineddata not installed")
    monkeypatch.setenv("DOCPIPE_MODEL_CACHE_DIR", str(tmp_path / "models"))
    reload_settings()
    lexicon._load.cache_clear()
    decoded = []
    real = lexicon.dawg_words
    monkeypatch.setattr(lexicon, "dawg_words", lambda *a: decoded.append(1) or real(*a))
    first = lexicon.tesseract_lexicon()
    assert decoded == [1] and "amount" in first
    kept = list((tmp_path / "models").glob("lexicon-*.txt"))
    assert len(kept) == 1 and not list((tmp_path / "models").glob("*.tmp"))
    lexicon._load.cache_clear()
    again = lexicon.tesseract_lexicon()
    assert decoded == [1] and again == first  # read back, not decoded
    kept[0].write_bytes(b"\xff\xfe broken")  # an unreadable cache file is decoded again, not trusted
    lexicon._load.cache_clear()
    assert lexicon.tesseract_lexicon() == first and decoded == [1, 1]
    lexicon._load.cache_clear()
