"""Document types and the fields each type is expected to have."""

from __future__ import annotations

DOC_TYPES: tuple[str, ...] = (
    "pay_stub", "bank_statement", "invoice", "receipt", "contract", "form", "report", "id_document", "other",
)

# Required fields per type: a missing one raises a review flag. "form" has no fixed schema (key-value pairs).
REQUIRED_FIELDS: dict[str, list[str]] = {
    "receipt": ["company", "date", "address", "total"],
    "invoice": ["invoice_number", "date", "total", "currency", "issuer"],
    "pay_stub": ["employer", "employee", "pay_period", "gross_pay", "net_pay"],
    "bank_statement": ["account_holder", "account_number", "iban", "statement_period", "opening_balance",
                       "closing_balance"],
    "contract": ["parties", "effective_date", "jurisdiction", "term"],
    "form": [],
    "report": [],
    "id_document": [],
    "other": [],
}

# Multi-valued fields: one ExtractedField per value, all with the same name, in ordinal (document) order.
MULTI_VALUED: frozenset[str] = frozenset({"parties"})

# Fields whose value is a personal/financial identifier (masked for non-privileged roles).
SENSITIVE_FIELDS: frozenset[str] = frozenset({"iban", "account_number"})
