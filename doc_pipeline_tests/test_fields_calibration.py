"""Confidence calibration (issue #4): document-weighted logistic maps and the shipped calibration.json.

Synthetic data only (no corpus); the last test uses a summary of the development pairs (counts per raw-score bin)."""

from __future__ import annotations

import json
import math
import random

import pytest

from doc_pipeline.core.fields import calibration
from doc_pipeline.core.fields.calibration import (
    apply_logistic,
    exchangeable_rho,
    expected_calibration_error,
    fit_logistic,
)
from doc_pipeline.core.models import Page, PageKind, Word


def _page(engine: str) -> Page:
    return Page(page_no=1, kind=PageKind.scanned, width=200.0, height=200.0, engine=engine, text="x",
                words=[Word(text="x", bbox=(10.0, 10.0, 20.0, 20.0), conf=0.9)])


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def _clustered(rng: random.Random, docs: int, per_doc: int, sd: float, prefix: str = "d"):
    """(raw, correct, family) triples and their documents: P(correct) = sigmoid(logit(raw) + document effect)."""
    data, clusters = [], []
    for d in range(docs):
        effect = rng.gauss(0.0, sd)
        for _ in range(per_doc):
            s = rng.uniform(0.05, 0.95)
            data.append((s, rng.random() < _sigmoid(math.log(s / (1 - s)) + effect), None))
            clusters.append(f"{prefix}{d}")
    return data, clusters


def test_exchangeable_rho_measures_within_document_correlation():
    import numpy as np

    rng = random.Random(1)
    for sd, lo, hi in ((0.0, -0.01, 0.03), (1.5, 0.08, 0.5)):
        data, clusters = _clustered(rng, 80, 10, sd)
        p = np.array([s for s, _, _ in data])  # the true map is the identity (up to the document effects)
        y = np.array([1.0 if ok else 0.0 for _, ok, _ in data])
        assert lo <= exchangeable_rho(p, y, clusters) <= hi
    assert exchangeable_rho(np.array([0.5, 0.5]), np.array([1.0, 0.0]), ["a", "b"]) == 0.0  # no pairs: 0


def test_singleton_documents_give_the_unweighted_fit():
    rng = random.Random(2)
    data, _ = _clustered(rng, 1, 400, 0.0)
    plain = fit_logistic(data)
    single = fit_logistic(data, clusters=list(range(len(data))))
    assert "rho" not in plain and single["rho"] == 0.0
    assert single["slope"] == pytest.approx(plain["slope"], abs=1e-4)
    assert single["intercept"] == pytest.approx(plain["intercept"], abs=1e-4)


def test_one_large_document_does_not_set_the_curve():
    """40 forms with a few pairs each follow the raw score; one form with 150 pairs (a misread table header) is all
    wrong. Unweighted, that form drags every probability down; weighted by the measured within-document
    correlation, the map stays close to the truth for new documents."""
    rng = random.Random(3)
    data, clusters = _clustered(rng, 40, 6, 0.3)
    data += [(rng.uniform(0.6, 0.9), False, None) for _ in range(150)]
    clusters += ["big"] * 150
    plain = fit_logistic(data)
    weighted = fit_logistic(data, clusters=clusters)
    assert weighted["rho"] > 0.1
    fresh, _ = _clustered(random.Random(4), 200, 6, 0.3, "new")
    ece_plain = expected_calibration_error([(apply_logistic(plain, s, f), ok) for s, ok, f in fresh])
    ece_weighted = expected_calibration_error([(apply_logistic(weighted, s, f), ok) for s, ok, f in fresh])
    assert ece_weighted < 0.06 < 0.1 < ece_plain


# Development pairs the shipped map was fitted on, summarised: (group, OCR family, mean raw score of a 0.05-wide
# raw-score bin, fields, right). From `fields_eval.py --ocr tesseract,rapidocr --dump-calibration` (995 fields);
# regenerate together with calibration.json when the raw score changes.
DEV_BINS = [
    ('default', 'rapidocr', 0.369, 1, 1), ('default', 'rapidocr', 0.407, 1, 1), ('default', 'rapidocr', 0.497, 10, 9),
    ('default', 'rapidocr', 0.548, 5, 3), ('default', 'rapidocr', 0.57, 29, 27), ('default', 'rapidocr', 0.632, 5, 4),
    ('default', 'rapidocr', 0.68, 13, 12), ('default', 'rapidocr', 0.724, 14, 11), ('default', 'rapidocr', 0.758, 2, 2),
    ('default', 'rapidocr', 0.844, 3, 3), ('default', 'rapidocr', 0.868, 14, 14),
    ('default', 'rapidocr', 0.937, 23, 23), ('default', 'tesseract', 0.249, 1, 0),
    ('default', 'tesseract', 0.316, 2, 2), ('default', 'tesseract', 0.444, 1, 0),
    ('default', 'tesseract', 0.473, 14, 9), ('default', 'tesseract', 0.527, 19, 1),
    ('default', 'tesseract', 0.572, 21, 15), ('default', 'tesseract', 0.622, 2, 1),
    ('default', 'tesseract', 0.665, 11, 8), ('default', 'tesseract', 0.711, 13, 7),
    ('default', 'tesseract', 0.789, 1, 0), ('default', 'tesseract', 0.826, 11, 9),
    ('default', 'tesseract', 0.874, 9, 8), ('default', 'tesseract', 0.92, 4, 4), ('default', None, 0.43, 6, 4),
    ('default', None, 0.466, 10, 9), ('default', None, 0.598, 1, 1), ('default', None, 0.675, 16, 13),
    ('default', None, 0.728, 14, 9), ('default', None, 0.779, 45, 38), ('default', None, 0.826, 18, 13),
    ('default', None, 0.863, 55, 54), ('default', None, 0.915, 4, 4), ('kv', 'rapidocr', 0.135, 2, 0),
    ('kv', 'rapidocr', 0.173, 8, 0), ('kv', 'rapidocr', 0.287, 3, 1), ('kv', 'rapidocr', 0.316, 12, 3),
    ('kv', 'rapidocr', 0.378, 22, 10), ('kv', 'rapidocr', 0.427, 30, 14), ('kv', 'rapidocr', 0.476, 22, 12),
    ('kv', 'rapidocr', 0.534, 18, 11), ('kv', 'rapidocr', 0.576, 16, 8), ('kv', 'rapidocr', 0.624, 36, 20),
    ('kv', 'rapidocr', 0.686, 91, 57), ('kv', 'rapidocr', 0.728, 15, 8), ('kv', 'rapidocr', 0.773, 10, 9),
    ('kv', 'rapidocr', 0.833, 10, 6), ('kv', 'rapidocr', 0.882, 25, 21), ('kv', 'rapidocr', 0.946, 136, 109),
    ('kv', 'tesseract', 0.115, 10, 0), ('kv', 'tesseract', 0.159, 6, 0), ('kv', 'tesseract', 0.294, 2, 0),
    ('kv', 'tesseract', 0.326, 5, 1), ('kv', 'tesseract', 0.386, 7, 1), ('kv', 'tesseract', 0.424, 16, 4),
    ('kv', 'tesseract', 0.481, 4, 1), ('kv', 'tesseract', 0.527, 19, 6), ('kv', 'tesseract', 0.58, 12, 4),
    ('kv', 'tesseract', 0.624, 18, 8), ('kv', 'tesseract', 0.667, 12, 3), ('kv', 'tesseract', 0.728, 3, 0),
    ('kv', 'tesseract', 0.777, 7, 3), ('kv', 'tesseract', 0.833, 8, 4), ('kv', 'tesseract', 0.863, 7, 2),
    ('kv', 'tesseract', 0.914, 5, 2),
]


@pytest.fixture
def shipped():
    """calibrate() with the calibration.json in the repository (other tests may point it elsewhere)."""
    calibration.shipped_map.cache_clear()
    calibration.shipped_logistic.cache_clear()
    yield json.loads(calibration.CALIBRATION_FILE.read_text())
    calibration.shipped_map.cache_clear()
    calibration.shipped_logistic.cache_clear()


def test_shipped_maps_are_document_weighted_and_monotone(shipped):
    assert shipped.get("logistic_weighting") == "document"
    for g in ("default", "kv"):
        model = shipped["logistic"][g]
        assert 0.0 < model["rho"] < 0.5  # fitted with the measured within-document correlation
        assert 0.5 < model["slope"] < 1.5  # increasing: calibration keeps the candidates' order within a field
        assert model["family"]["rapidocr"] > model["family"]["tesseract"]  # same raw score, better OCR
    for engine in ("rapidocr", "tesseract"):
        with calibration.calibrating_for([_page(engine)]):
            for group in ("total", "company", "kv"):  # field names without their own map use "default"
                vals = [calibration.calibrate(s / 20, group) for s in range(1, 20)]
                assert all(a < b for a, b in zip(vals, vals[1:]))
                assert 0.01 <= vals[0] and vals[-1] <= 0.99


def test_shipped_maps_are_calibrated_on_the_development_summary(shipped):
    pages = {"rapidocr": [_page("rapidocr")], "tesseract": [_page("tesseract")],
             None: [Page(page_no=1, kind=PageKind.native, width=200.0, height=200.0)]}
    preds: list[tuple[float, bool]] = []
    by_group: dict[str, list[float]] = {"default": [0, 0, 0.0], "kv": [0, 0, 0.0]}
    for group, fam, raw, n, right in DEV_BINS:
        with calibration.calibrating_for(pages[fam]):
            p = calibration.calibrate(raw, group)
        preds += [(p, True)] * right + [(p, False)] * (n - right)
        g = by_group[group]
        g[0] += n
        g[1] += right
        g[2] += n * p
    assert sum(n for *_, n, _ in DEV_BINS) == 995
    assert expected_calibration_error(preds) < 0.06  # 0.030 with the shipped map (0.035 in the eighth round)
    for n, right, psum in by_group.values():  # calibration in the large, per group
        assert abs(psum / n - right / n) < 0.04
