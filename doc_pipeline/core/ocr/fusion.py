"""Engine selection per text line: RapidOCR reads the page; where it is unsure of a line, Tesseract reads that line
again (single-line mode on the line's crop) and the more confident reading wins.

Why per line: PP-OCR finds lines more reliably than Tesseract on receipts and forms (faint print, stamps, skew),
and its recogniser is better on most lines; Tesseract's dictionary-backed recogniser sometimes wins on lines PP-OCR
is unsure of. Re-reading only the unsure lines keeps the cost close to RapidOCR alone.

Inside a re-read line that PP-OCR keeps as a whole, single words are still taken from Tesseract where it is clearly
more confident, the word is in its dictionary and it only respells letters (`choose_words`): PP-OCR's
Chinese-trained recogniser misreads English words (`Irvolce`, `THOUNK`) that Tesseract's dictionary gets right,
while Tesseract is the worse reader of digits and punctuation.

A re-read line also gets a dictionary check against its re-reading, with no confidence margin, and where Tesseract
has read the whole page already (the `auto` engine's first reading, handed over as `page_words`) every line gets it
against that reading, whatever PP-OCR's confidence (`prefer_dictionary_words`): a PP-OCR word that is not in the
word list is replaced by Tesseract's reading of the same stretch when that is a dictionary word of the same length
that only respells letters (`Anount` / `Amount`, `Sumnary` / `Summary`, `Transporiation`
/ `Transportation`). PP-OCR is as sure of those misreads as of its right words, so its confidence cannot pick them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from PIL import Image

from doc_pipeline.core.ocr.base import OcrEngine, OcrWord, get_engine, mean_word_conf, register_engine, words_box
from doc_pipeline.core.ocr.lexicon import MIN_LEN, digits_ok, tesseract_lexicon, word_core

LINE_TARGET_HEIGHT = 40  # px: Tesseract reads single lines best with capitals around 25-30 px


@dataclass(frozen=True)
class LineChoice:
    """Which reading of one line was kept, and why (the selection rule, testable without engines)."""

    engine: str
    words: list[OcrWord]


def line_conf(words: list[OcrWord]) -> float:
    return min((w.conf for w in words), default=0.0)


def choose_line(primary: list[OcrWord], secondary: list[OcrWord] | None, *, margin: float = 0.15,
                primary_name: str = "rapidocr", secondary_name: str = "tesseract") -> LineChoice:
    """Keep the primary reading unless the secondary one is clearly more confident (mean word confidence ahead by
    `margin`) and they agree on roughly how much text there is (a reading that lost half the line does not win)."""
    if not secondary:
        return LineChoice(primary_name, primary)
    p_chars = sum(len(w.text) for w in primary)
    s_chars = sum(len(w.text) for w in secondary)
    if p_chars and not (0.6 <= s_chars / p_chars <= 1.6):
        return LineChoice(primary_name, primary)
    if mean_word_conf(secondary) >= mean_word_conf(primary) + margin:
        return LineChoice(secondary_name, secondary)
    return LineChoice(primary_name, primary)


def _x_overlap(a: OcrWord, b: OcrWord) -> float:
    """Horizontal overlap of two word boxes as a share of the narrower one."""
    ov = min(a.box_px[2], b.box_px[2]) - max(a.box_px[0], b.box_px[0])
    return ov / max(1, min(a.box_px[2] - a.box_px[0], b.box_px[2] - b.box_px[0]))


def align_segments(primary: list[OcrWord], secondary: list[OcrWord], min_overlap: float = 0.5):
    """Pair up two readings of one line by position: the words of both sides are grouped into segments, each the
    smallest run of neighbouring words whose boxes cover the same stretch of the line (a word of one side overlaps
    one of the other side by `min_overlap` of the narrower box), so `Excl.of` pairs with `Excl.` `of`. Returns
    [(primary words, secondary words)] left to right; a word that overlaps nothing is a segment with one side
    empty."""
    p = sorted(primary, key=lambda w: w.box_px[0])
    s = sorted(secondary, key=lambda w: w.box_px[0])
    parent = list(range(len(p) + len(s)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(p):
        for j, b in enumerate(s):
            if _x_overlap(a, b) >= min_overlap:
                parent[find(i)] = find(len(p) + j)
    groups: dict[int, tuple[list[OcrWord], list[OcrWord]]] = {}
    for i, a in enumerate(p):
        groups.setdefault(find(i), ([], []))[0].append(a)
    for j, b in enumerate(s):
        groups.setdefault(find(len(p) + j), ([], []))[1].append(b)
    return sorted(groups.values(), key=lambda g: min(w.box_px[0] for w in g[0] + g[1]))


def _skeleton(text: str) -> str:
    """The characters of a reading that are neither letters nor digits, in order (`Incl.` -> `.`)."""
    return "".join(c for c in text if not c.isalnum())


def word_swap_ok(primary_text: str, secondary_text: str) -> bool:
    """Whether a secondary (Tesseract) reading may replace a primary (PP-OCR) one: only as a different spelling of
    the *letters* of a word. Tesseract's dictionary-backed recogniser reads words better where PP-OCR is unsure
    (`Irvolce` / `Invoice`, `THOUNK` / `THANK`), but misreads digits and punctuation more often (`CS1802` /
    `C$1802`, `02/02/2018` / `92/02/2018`, `NO:` / `NO'`): the secondary reading must have letters and no
    digits, the same punctuation in the same order, and differ by at most 40 % of the characters."""
    from rapidfuzz.distance import Levenshtein

    p, s = primary_text.casefold(), secondary_text.casefold()
    if p == s or any(c.isdigit() for c in s) or sum(c.isalpha() for c in s) < 2:
        return False
    if _skeleton(p) != _skeleton(s):
        return False
    return Levenshtein.distance(p, s) <= max(1, int(0.4 * max(len(p), len(s))))


def page_vocabulary(lines: list[list[OcrWord]], min_conf: float) -> set[str]:
    """The spellings the primary engine read with confidence somewhere on the page (casefolded)."""
    return {w.text.casefold() for line in lines for w in line if w.conf >= min_conf}


def choose_words(primary: list[OcrWord], secondary: list[OcrWord] | None, *, margin: float = 0.15,
                 page_words: set[str] = frozenset()) -> list[OcrWord]:
    """Word-level choice inside one line: for each stretch of the line both engines read (`align_segments`),
    the secondary reading replaces the primary one where it is clearly more confident (mean word confidence
    ahead by `margin`) and only respells letters (`word_swap_ok`). One misread word (`Irvolce` 0.64 vs
    Tesseract's `Invoice` 0.89) no longer needs the whole line to lose. Words only one side saw stay as the
    primary has them, and so does a word the primary engine read confidently elsewhere on the page
    (`page_words`): the page's own spelling of a name beats the dictionary's (`DION` in an address, read surely
    in the company line above, is not respelled `DIAN`)."""
    if not secondary:
        return primary
    out: list[OcrWord] = []
    for p, s in align_segments(primary, secondary):
        if not p:
            continue
        if len(p) == 1 and p[0].text.casefold() in page_words:
            out.extend(p)
            continue
        if (s and mean_word_conf(s) >= mean_word_conf(p) + margin and all(w.in_dictionary for w in s)
                and word_swap_ok(" ".join(w.text for w in p), " ".join(w.text for w in s))):
            out.extend(s)
            continue
        out.extend(p)
    return out


def line_members(line: list[OcrWord], words: list[OcrWord], min_overlap: float = 0.5) -> list[OcrWord]:
    """The words of another reading of the page that lie on this line (vertical overlap of at least `min_overlap`
    of the smaller height, box centre within the line's horizontal extent), left to right."""
    x0, y0, x1, y1 = words_box(line)
    out = []
    for w in words:
        bx0, by0, bx1, by1 = w.box_px
        overlap = min(y1, by1) - max(y0, by0)
        if overlap >= min_overlap * max(1, min(y1 - y0, by1 - by0)) and x0 <= (bx0 + bx1) / 2 <= x1:
            out.append(w)
    return sorted(out, key=lambda w: w.box_px[0])


def prefer_dictionary_words(primary: list[OcrWord], secondary: list[OcrWord], lexicon, repeated=frozenset()
                            ) -> list[OcrWord]:
    """Dictionary check of one line against a second reading of it (Tesseract's reading of the whole page), made
    whatever either engine's confidence says: for each stretch both read (`align_segments`), the secondary words
    replace the primary ones when the primary is not a word of `lexicon` (Tesseract's word list), the secondary
    is (each of its words, by the list and by Tesseract's own `in_dictionary`), the two have as many letters and
    digits, and the change only respells letters (`word_swap_ok`). The primary stretch must be a word of at least
    `lexicon.MIN_LEN` characters whose digits could be look-alikes (`lexicon.digits_ok`: `FACS1MILE` yes, `Page1`
    and `3rd` no), and a spelling the page repeats (`repeated`, casefolded) is a name and stays. PP-OCR misreads
    `Anount`, `Sumnary`, `Transporiation` with character scores of ~1.0, so its confidence cannot single them
    out; the dictionary and the second reading together can. The new words keep the line's numbers."""
    if not secondary or not lexicon:
        return primary
    out: list[OcrWord] = []
    for p, s in align_segments(primary, secondary):
        if not p:
            continue
        p_core = "".join(word_core(w.text) for w in p)
        s_core = "".join(word_core(w.text) for w in s)
        if (s and len(p_core) >= MIN_LEN and len(p_core) == len(s_core) and digits_ok(p_core)
                and not all(word_core(w.text) in lexicon for w in p)
                and not (len(p) == 1 and p[0].text.casefold() in repeated)
                and all(w.in_dictionary and word_core(w.text) in lexicon for w in s)
                and word_swap_ok(" ".join(w.text for w in p), " ".join(w.text for w in s))):
            out.extend(OcrWord(text=w.text, box_px=w.box_px, conf=w.conf, line=p[0].line, block=p[0].block,
                               in_dictionary=True) for w in s)
            continue
        out.extend(p)
    return out


@register_engine("fusion")
class FusionEngine(OcrEngine):
    """RapidOCR for the page, Tesseract for the lines RapidOCR is unsure of (DOCPIPE_OCR_RECHECK_BELOW): the whole
    line (`choose_line`) or, failing that, single dictionary words in it (`choose_words`, and the dictionary check
    `prefer_dictionary_words` against the re-reading and, given one, the page reading; both off with
    `word_level=False`)."""

    name = "rapidocr+tesseract"

    def __init__(self, recheck_below: float = 0.8, margin: float = 0.15, lang: str = "eng", tessdata: str | None = None,
                 word_level: bool = True):
        self.recheck_below, self.margin, self.word_level = recheck_below, margin, word_level
        self.rapid = get_engine("rapidocr")
        opts = {"lang": lang, **({"tessdata": tessdata} if tessdata else {})}
        self.tess_line = get_engine("tesseract", psm=7, **opts)  # PSM 7: the image is one text line
        self.last_choices: list[str] = []

    def recognize(self, image: Image.Image, dpi: int, page_words: list[OcrWord] | None = None) -> list[OcrWord]:
        """`page_words`: Tesseract's reading of the whole page, when the caller has one (the `auto` engine): every
        line is then checked against it (`prefer_dictionary_words`), as the re-read lines are against their own
        re-reading."""
        gray = image.convert("L")
        words: list[OcrWord] = []
        self.last_choices = []
        lines = self.rapid.recognize_lines(image)
        vocabulary = page_vocabulary(lines, self.recheck_below)
        lexicon = tesseract_lexicon() if self.rapid.use_lexicon and self.word_level else frozenset()
        counts = Counter(w.text.casefold() for line in lines for w in line)
        repeated = {k for k, n in counts.items() if n >= 2}
        for line in lines:
            second = None
            if line_conf(line) < self.recheck_below:
                second = self._read_line(gray, line, dpi)
            choice = choose_line(line, second, margin=self.margin)
            self.last_choices.append(choice.engine)
            chosen = choice.words
            if choice.engine == "rapidocr" and second and self.word_level:
                chosen = choose_words(line, second, margin=self.margin, page_words=vocabulary)
            if lexicon and chosen and second:  # the line's own re-reading first, then the page's
                chosen = prefer_dictionary_words(chosen, second, lexicon, repeated)
            if lexicon and chosen and page_words:
                chosen = prefer_dictionary_words(chosen, line_members(chosen, page_words), lexicon, repeated)
            words.extend(chosen)
        return words  # engine line numbers; page_text orders them (reading_order)

    def _read_line(self, gray: Image.Image, line: list[OcrWord], dpi: int) -> list[OcrWord]:
        x0, y0, x1, y1 = words_box(line)
        pad = max(2, (y1 - y0) // 5)
        box = (max(0, x0 - pad), max(0, y0 - pad), min(gray.width, x1 + pad), min(gray.height, y1 + pad))
        crop = gray.crop(box)
        scale = max(1.0, LINE_TARGET_HEIGHT / max(1, crop.height))
        if scale > 1.0:
            crop = crop.resize((round(crop.width * scale), round(crop.height * scale)), Image.LANCZOS)
        out = []
        for w in self.tess_line.recognize(crop, int(dpi * scale)):
            b = w.box_px
            out.append(OcrWord(text=w.text, conf=w.conf, line=line[0].line, block=line[0].block,
                               in_dictionary=w.in_dictionary,
                               box_px=(box[0] + int(b[0] / scale), box[1] + int(b[1] / scale),
                                       box[0] + int(round(b[2] / scale)), box[1] + int(round(b[3] / scale)))))
        return out
