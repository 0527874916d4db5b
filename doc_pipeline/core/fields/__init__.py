"""Field extraction: document type, typed fields with provenance and calibrated confidence, review flags,
corrections and a small trainable spaCy model. Entry point: ``extract_fields``."""

from .calibration import expected_calibration_error, fit_isotonic, reliability_table
from .classify import classify_doc_type
from .extract import extract_fields
from .ner import load_field_model, train_field_model
from .normalize import iban_is_valid, parse_amount, parse_date
from .review import apply_corrections, corrections_to_training_examples, field_flags
from .schema import DOC_TYPES, MULTI_VALUED, REQUIRED_FIELDS, SENSITIVE_FIELDS

__all__ = [
    "extract_fields", "classify_doc_type", "DOC_TYPES", "REQUIRED_FIELDS", "MULTI_VALUED", "SENSITIVE_FIELDS",
    "field_flags", "apply_corrections", "corrections_to_training_examples", "train_field_model", "load_field_model",
    "reliability_table", "expected_calibration_error", "fit_isotonic", "parse_date", "parse_amount", "iban_is_valid",
]
