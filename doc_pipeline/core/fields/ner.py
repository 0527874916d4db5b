"""spaCy parts: a rule pipeline (blank "en" + EntityRuler gazetteers) and a small NER field model the project
trains itself, offline, from synthetic documents and review corrections (no downloads: spacy.blank only)."""

from __future__ import annotations

import io
import random
import zipfile
from functools import lru_cache

from .candidates import Candidate
from .layout_text import DocText
from doc_pipeline.core.models import FieldSource

US_STATES = ["Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut", "Delaware",
             "Florida", "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa", "Kansas", "Kentucky",
             "Louisiana", "Maine", "Maryland", "Massachusetts", "Michigan", "Minnesota", "Mississippi", "Missouri",
             "Montana", "Nebraska", "Nevada", "New Hampshire", "New Jersey", "New Mexico", "New York",
             "North Carolina", "North Dakota", "Ohio", "Oklahoma", "Oregon", "Pennsylvania", "Rhode Island",
             "South Carolina", "South Dakota", "Tennessee", "Texas", "Utah", "Vermont", "Virginia", "Washington",
             "West Virginia", "Wisconsin", "Wyoming", "District of Columbia"]
COUNTRIES = ["England", "England and Wales", "Scotland", "Ireland", "Canada", "Ontario", "British Columbia",
             "Germany", "France", "the Netherlands", "Switzerland", "Israel", "Singapore", "Hong Kong", "Denmark",
             "Sweden", "Japan", "Australia", "India", "Malaysia"]


@lru_cache(maxsize=1)
def rule_nlp():
    """blank("en") + EntityRuler with place gazetteers (GPE) used for contract jurisdiction."""
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    pats = [{"label": "GPE", "pattern": [{"LOWER": t.lower()} for t in name.split()]}
            for name in US_STATES + COUNTRIES]
    ruler.add_patterns(pats)
    return nlp


def _spacy():
    import spacy
    from spacy.training import Example

    return spacy, Example


class FieldModel:
    """What ``load_field_model`` returns: the spaCy NER (``nlp``; calling the model calls it) and the learned
    candidate ranker (``ranker``, a ``ranker.Ranker``; None when no ranker rows were given)."""

    def __init__(self, nlp, ranker=None):
        self.nlp = nlp
        self.ranker = ranker

    def __call__(self, text: str):
        return self.nlp(text)

    def __getattr__(self, item):  # behaves like the spaCy Language for older callers (pipe_names, ...)
        if item in ("nlp", "ranker"):
            raise AttributeError(item)
        return getattr(self.nlp, item)


def train_field_model(examples: list[dict], generated: int = 200, epochs: int = 8, seed: int = 0,
                      ranker_rows: list[dict] | None = None) -> bytes:
    """Train a small NER field model (spacy.blank("en") + ner) on ``examples`` (rows {"text", "entities":
    [[start, end, LABEL]]}, e.g. from ``corrections_to_training_examples``) plus ``generated`` synthetic
    documents, and, from ``ranker_rows`` (``extract.ranker_examples`` of reviewed documents), the candidate
    ranker; returns a zip (config.cfg + model.bin [+ ranker.json]) for ``load_field_model``. Seconds on a CPU."""
    import json

    from .ranker import fit_ranker
    from .synth import generate

    spacy, Example = _spacy()
    rows = list(examples) + [d.example() for d in generate(generated, seed=seed)]
    nlp = spacy.blank("en")
    ner = nlp.add_pipe("ner")
    data = []
    for row in rows:
        doc = nlp.make_doc(row["text"])
        ents = []
        for s, e, lab in row["entities"]:
            span = doc.char_span(int(s), int(e), label=str(lab), alignment_mode="expand")
            if span is not None and not any(span.start < x.end and x.start < span.end for x in ents):
                ents.append(span)
                ner.add_label(str(lab))
        data.append(Example.from_dict(doc, {"entities": [(x.start_char, x.end_char, x.label_) for x in ents]}))
    rng = random.Random(seed)
    spacy.util.fix_random_seed(seed)
    optimizer = nlp.initialize(lambda: data)
    for _ in range(epochs):
        rng.shuffle(data)
        for batch in spacy.util.minibatch(data, size=16):
            nlp.update(batch, sgd=optimizer, drop=0.1)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.cfg", nlp.config.to_str())
        z.writestr("model.bin", nlp.to_bytes())
        if ranker_rows:
            z.writestr("ranker.json", json.dumps(fit_ranker(ranker_rows)))
    return buf.getvalue()


def load_field_model(data: bytes) -> FieldModel:
    """The model saved by ``train_field_model``: a ``FieldModel`` (spaCy NER + candidate ranker, if trained)."""
    import json

    spacy, _ = _spacy()
    from thinc.api import Config

    from .ranker import Ranker

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        config = Config().from_str(z.read("config.cfg").decode())
        nlp = spacy.util.load_model_from_config(config, auto_fill=True)
        nlp.from_bytes(z.read("model.bin"))
        ranker = Ranker(json.loads(z.read("ranker.json"))) if "ranker.json" in z.namelist() else None
    return FieldModel(nlp, ranker)


def ner_candidates(nlp, doc: DocText, max_chars: int = 100_000) -> list[Candidate]:
    """Entities found by a trained field model, as candidates named by their label (lower-cased)."""
    from .normalize import find_amounts, find_dates, iban_is_valid, money, normalize_iban

    out: list[Candidate] = []
    text = doc.text[:max_chars]
    sd = nlp(text)
    for ent in sd.ents:
        # entities never span lines in our documents: keep the first line of a run-on span
        first = ent.text.split("\n")[0]
        name, val = ent.label_.lower(), first.strip()
        if not val:
            continue
        start = ent.start_char + ent.text.find(val)
        norm: object = val
        valid = True
        if "date" in name and name != "pay_period":
            hits = find_dates(val)
            norm, valid = (hits[0][2], True) if hits else (val, False)
        elif name in ("total", "gross_pay", "net_pay", "opening_balance", "closing_balance"):
            hits = find_amounts(val)
            norm, valid = (money(hits[0][2]["amount"], hits[0][2]["currency"]), True) if hits else (val, False)
        elif name == "iban":
            valid = iban_is_valid(val)
            norm = normalize_iban(val)
        out.append(Candidate(name, val, norm, start, start + len(val), source=FieldSource.ner,
                             engine="spacy-ner", valid=valid, prior=0.6))
    return out
