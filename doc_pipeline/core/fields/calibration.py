"""Confidence calibration: reliability tables, expected calibration error, calibration maps.

The shipped maps (calibration.json next to this module) are fitted on (raw score, correct) pairs from development
data, so a field reported at 0.9 is right about 90% of the time on data like the development data. Two kinds:
``fit_logistic`` (per group: logistic in the raw score's logit plus one offset per OCR family - the same raw score
means more on RapidOCR than on Tesseract pages; fitted with each document's fields down-weighted by the measured
within-document correlation; used when the file has it) and ``fit_isotonic`` (a monotone step map
per group, optionally per OCR family: "kv@rapidocr").
"""

from __future__ import annotations

import json
import math
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")


def reliability_table(preds: list[tuple[float, bool]], bins: int = 10) -> list[dict]:
    """Rows {lo, hi, count, mean_conf, accuracy} over equal-width confidence bins (empty bins omitted)."""
    rows = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        sel = [(c, ok) for c, ok in preds if (lo <= c < hi) or (b == bins - 1 and c == 1.0)]
        if sel:
            rows.append({"lo": round(lo, 3), "hi": round(hi, 3), "count": len(sel),
                         "mean_conf": round(sum(c for c, _ in sel) / len(sel), 4),
                         "accuracy": round(sum(1 for _, ok in sel if ok) / len(sel), 4)})
    return rows


def expected_calibration_error(preds: list[tuple[float, bool]] | list[dict], bins: int = 10) -> float:
    """ECE = sum over bins of (bin share) * |accuracy - mean confidence|. Accepts pairs or reliability rows."""
    rows = preds if preds and isinstance(preds[0], dict) else reliability_table(preds, bins)  # type: ignore[arg-type]
    n = sum(r["count"] for r in rows)
    if not n:
        return 0.0
    return sum(r["count"] / n * abs(r["accuracy"] - r["mean_conf"]) for r in rows)


def fit_isotonic(preds: list[tuple[float, bool]]) -> list[tuple[float, float]]:
    """Pool-adjacent-violators: a non-decreasing step map raw score -> P(correct), as (score, prob) knots."""
    pts = sorted((float(c), 1.0 if ok else 0.0) for c, ok in preds)
    blocks: list[list[float]] = []  # [sum_y, count, min_x, max_x]
    for x, y in pts:
        blocks.append([y, 1.0, x, x])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            y2, n2, _, x2 = blocks.pop()
            blocks[-1][0] += y2
            blocks[-1][1] += n2
            blocks[-1][3] = x2
    knots: list[tuple[float, float]] = []
    for sy, n, x0, x1 in blocks:
        p = sy / n
        knots.append((round((x0 + x1) / 2, 4), round(p, 4)))
    return knots


def apply_map(knots: list[tuple[float, float]], score: float) -> float:
    """Piecewise-linear interpolation between knots (flat outside)."""
    if not knots:
        return score
    if score <= knots[0][0]:
        return knots[0][1]
    for (x0, y0), (x1, y1) in zip(knots, knots[1:]):
        if score <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (score - x0) / (x1 - x0)
    return knots[-1][1]


FAMILIES = ("tesseract", "rapidocr")  # OCR families with their own offset; text-layer pages are the base


def _logit(p: float) -> float:
    p = min(max(p, 1e-3), 1 - 1e-3)
    return math.log(p / (1 - p))


def _features(score: float, family: str | None) -> list[float]:
    return [_logit(score), 1.0] + [1.0 if family == f else 0.0 for f in FAMILIES]


def exchangeable_rho(p, y, clusters) -> float:
    """Moment estimate of the correlation of Pearson residuals between two fields of one cluster (document):
    sum over clusters of sum_{i != j} r_i r_j / (phi * sum n (n - 1)), clipped to [0, 1] (GEE's exchangeable
    working correlation)."""
    import numpy as np

    r = (y - p) / np.sqrt(np.clip(p * (1 - p), 1e-9, None))
    sums: dict = {}
    for c, v in zip(clusters, r):
        s = sums.setdefault(c, [0.0, 0.0, 0])
        s[0] += float(v)
        s[1] += float(v) * float(v)
        s[2] += 1
    den = sum(n * (n - 1) for _, _, n in sums.values())
    phi = float(np.mean(r * r))
    if not den or phi <= 0:
        return 0.0
    return max(0.0, min(1.0, sum(a * a - b for a, b, _ in sums.values()) / den / phi))


def fit_logistic(preds: list[tuple[float, bool, str | None]], l2: float = 1.0, clusters: list | None = None,
                 rounds: int = 3) -> dict:
    """P(correct) = sigmoid(slope * logit(raw) + intercept + offset[OCR family]) fitted by Newton's method on
    (raw score, correct, OCR family) triples, a little L2 shrinkage on every weight. Four parameters per group:
    no step map to overfit on the few hundred fields a group has, and the OCR family (which the raw score does not
    see) shifts the whole curve.

    ``clusters`` (the document of each triple): fields of one document are not independent (one misread table
    header makes all its cells wrong, a good scan makes most fields right), and a few documents with 40-60 pairs
    would otherwise set the curve. Each field is then weighted 1 / (1 + (n - 1) * rho), n its document's field
    count and rho the within-document correlation of the residuals (``exchangeable_rho``, as GEE's exchangeable
    working correlation); fit and rho are alternated ``rounds`` times starting from rho = 0 (no extra parameter
    in the map: rho is estimated from the data, ``"rho"`` in the result). Weights are scaled to sum to the field
    count, so ``l2`` means the same with or without clusters."""
    import numpy as np

    x = np.array([_features(c, fam) for c, _, fam in preds])
    y = np.array([1.0 if ok else 0.0 for _, ok, _ in preds])
    if clusters is not None:
        counts: dict = {}
        for c in clusters:
            counts[c] = counts.get(c, 0) + 1
        n = np.array([float(counts[c]) for c in clusters])
    w = np.zeros(x.shape[1])
    rho = 0.0
    for _ in range(rounds if clusters is not None else 1):
        s = np.ones(len(y)) if clusters is None else 1 / (1 + (n - 1) * rho)
        s = s * len(y) / s.sum()
        for _ in range(100):
            p = 1 / (1 + np.exp(-x @ w))
            step = np.linalg.solve((x.T * (s * p * (1 - p))) @ x + l2 * np.eye(len(w)), x.T @ (s * (p - y)) + l2 * w)
            w -= step
            if float(np.abs(step).max()) < 1e-9:
                break
        used = rho
        if clusters is not None:
            rho = exchangeable_rho(1 / (1 + np.exp(-x @ w)), y, clusters)
    out = {"slope": round(float(w[0]), 5), "intercept": round(float(w[1]), 5),
           "family": {f: round(float(v), 5) for f, v in zip(FAMILIES, w[2:])}}
    if clusters is not None:
        out["rho"] = round(float(used), 4)
    return out


def apply_logistic(model: dict, score: float, family: str | None) -> float:
    z = model["slope"] * _logit(score) + model["intercept"] + model.get("family", {}).get(family or "", 0.0)
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


@lru_cache(maxsize=1)
def shipped_logistic() -> dict[str, dict]:
    """{group: logistic model} from calibration.json ("logistic"); wins over the group's isotonic map."""
    if not CALIBRATION_FILE.exists():
        return {}
    return dict(json.loads(CALIBRATION_FILE.read_text(encoding="utf-8")).get("logistic", {}))


@lru_cache(maxsize=1)
def shipped_map() -> dict[str, list[tuple[float, float]]]:
    """{group: knots} from calibration.json; group 'default' applies to fields of groups not listed."""
    if not CALIBRATION_FILE.exists():
        return {}
    data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    return {k: [tuple(p) for p in v] for k, v in data.get("maps", {}).items()}


_FAMILY: ContextVar[str | None] = ContextVar("docpipe_calibration_ocr_family", default=None)


def ocr_family(pages) -> str | None:
    """Which OCR produced the document's words: "tesseract" or "rapidocr" (RapidOCR and its fusion with
    Tesseract), None for text-layer pages. Confidence means different things per engine, so maps are per family."""
    fams = []
    for p in pages:
        if getattr(p, "kind", None) is None or str(getattr(p.kind, "value", p.kind)) != "scanned" or not p.words:
            continue
        e = (p.engine or "").lower()
        fams.append("rapidocr" if e.startswith("rapidocr") else "tesseract" if "tesseract" in e else None)
    fams = [f for f in fams if f]
    return max(set(fams), key=fams.count) if fams else None


@contextmanager
def calibrating_for(pages):
    """Within the block, ``calibrate`` uses the maps of the pages' OCR family (when the shipped file has them)."""
    token = _FAMILY.set(ocr_family(pages))
    try:
        yield
    finally:
        _FAMILY.reset(token)


def calibrate(score: float, group: str = "default") -> float:
    fam = _FAMILY.get()
    models = shipped_logistic()
    if models:
        model = models.get(group) or models.get("default")
        if model:
            return max(0.01, min(0.99, 0.97 * apply_logistic(model, score, fam) + 0.03 * score))
    maps = shipped_map()
    base = group if group in maps else "default"
    knots = (maps.get(f"{base}@{fam}") if fam else None) or maps.get(base)
    if not knots:
        return score
    # keep a little of the raw ordering inside flat steps so ranking among fields survives calibration
    return max(0.01, min(0.99, 0.97 * apply_map(knots, score) + 0.03 * score))
