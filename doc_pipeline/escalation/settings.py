"""Escalation settings: DOCPIPE_ESCALATION_* environment variables (dicts and lists are JSON)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

Vendor = Literal["textract", "documentai", "azure"]

# Required fields per doc_type and the confidence each must reach; "*" applies to doc types not listed.
DEFAULT_THRESHOLDS: dict[str, dict[str, float]] = {
    # names follow doc_pipeline.core.fields.schema.REQUIRED_FIELDS; only the fields worth paying for are listed
    "invoice": {"invoice_number": 0.8, "date": 0.8, "total": 0.85},
    "receipt": {"date": 0.8, "total": 0.85},
    "pay_stub": {"employer": 0.8, "pay_period": 0.8, "gross_pay": 0.85, "net_pay": 0.85},
    "bank_statement": {"iban": 0.9, "statement_period": 0.8, "closing_balance": 0.85},
    "contract": {"parties": 0.8, "effective_date": 0.8},
}

# Key texts (slugified) a cloud key-value pair may carry for each of our field names (each alias maps to one name).
DEFAULT_KV_ALIASES: dict[str, list[str]] = {
    "invoice_number": ["invoice_number", "invoice_no", "invoice", "invoice_id", "inv_no", "invoice_#"],
    "date": ["date", "invoice_date", "date_of_issue", "issue_date", "receipt_date"],
    "total": ["total", "total_amount", "amount_due", "total_due", "balance_due", "grand_total"],
    "employer": ["employer", "employer_name", "company"],
    "pay_period": ["pay_period", "period", "pay_period_ending"],
    "gross_pay": ["gross_pay", "gross", "gross_earnings"],
    "net_pay": ["net_pay", "net", "net_amount"],
    "iban": ["iban", "account_iban"],
    "statement_period": ["statement_period", "statement_date"],
    "closing_balance": ["closing_balance", "ending_balance", "new_balance"],
}

# Approximate list prices, USD per page, for the feature set each adapter requests (see docs/ESCALATION.md).
DEFAULT_PRICE_PER_PAGE: dict[str, float] = {
    "textract": 0.065,  # AnalyzeDocument TABLES ($0.015) + FORMS ($0.05), first 1M pages/month
    "documentai": 0.03,  # Form Parser, $30 / 1000 pages
    "azure": 0.01,  # prebuilt-layout, $10 / 1000 pages
}


class EscalationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOCPIPE_ESCALATION_", extra="ignore", populate_by_name=True)

    enabled: bool = False
    vendor: Vendor = "textract"
    # auto: real when the vendor's credentials are configured, else mock; real / mock force one
    mode: Literal["auto", "real", "mock"] = "auto"
    allow_mock: bool = True
    env: str = Field(default="development", validation_alias=AliasChoices("DOCPIPE_ENV", "env"))
    mock_fixture: Path | None = None  # a vendor-format JSON response the mock returns when it has no local pages

    # routing
    thresholds: dict[str, dict[str, float]] = Field(default_factory=lambda: {k: dict(v) for k, v in DEFAULT_THRESHOLDS.items()})
    default_threshold: float = 0.7
    high_value_doc_types: list[str] = Field(default_factory=lambda: ["bank_statement", "pay_stub", "contract"])
    declared_amount_threshold: float = 10_000.0
    amount_fields: list[str] = Field(default_factory=lambda: ["declared_amount", "total", "gross_pay", "net_pay",
                                                               "closing_balance", "amount"])
    kv_aliases: dict[str, list[str]] = Field(default_factory=lambda: {k: list(v) for k, v in DEFAULT_KV_ALIASES.items()})

    # budget (paid pages)
    daily_page_budget: int = 500
    per_document_page_budget: int = 10
    price_per_page: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_PRICE_PER_PAGE))

    # client behaviour
    rate_per_second: dict[str, float] = Field(default_factory=lambda: {"textract": 1.0, "documentai": 2.0, "azure": 1.0})
    burst: int = 2
    max_attempts: int = 5
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 30.0
    total_timeout_s: float = 300.0
    request_timeout_s: float = 60.0

    # AWS Textract (boto3; standard AWS credential chain, or the two keys below)
    textract_region: str = "us-east-1"
    textract_endpoint_url: str | None = None
    textract_features: list[str] = Field(default_factory=lambda: ["TABLES", "FORMS"])
    aws_access_key_id: str | None = None
    aws_secret_access_key: SecretStr | None = None

    # Google Document AI (google-cloud-documentai; Application Default Credentials)
    gcp_project: str | None = None
    gcp_location: str = "us"
    gcp_processor_id: str | None = None
    gcp_processor_version: str | None = None
    gcp_credentials_file: Path | None = None

    # Azure Document Intelligence (azure-ai-documentintelligence)
    azure_endpoint: str | None = None
    azure_key: SecretStr | None = None
    azure_model: str = "prebuilt-layout"  # or prebuilt-read (cheaper, text only)
    azure_features: list[str] = Field(default_factory=lambda: ["keyValuePairs"])
    azure_api_version: str | None = None

    # optional LLM fallback (OpenAI-compatible chat completions)
    llm_enabled: bool = False
    llm_url: str = ""  # base URL ending in /v1, e.g. http://127.0.0.1:8080/v1
    llm_model: str = ""
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = 60.0
    llm_max_attempts: int = 3
    llm_max_confidence: float = 0.75  # an LLM answer never counts as more certain than this
    llm_max_chars: int = 12_000  # page text sent per request

    @property
    def is_production(self) -> bool:
        return self.env.strip().lower() in {"production", "prod"}

    @property
    def mock_permitted(self) -> bool:
        return self.allow_mock and not self.is_production

    def threshold_map(self, doc_type: str | None) -> dict[str, float]:
        return dict(self.thresholds.get(doc_type or "", self.thresholds.get("*", {})))

    def vendor_configured(self, vendor: str | None = None) -> bool:
        """Whether real credentials/config are present for the vendor (auto mode uses this)."""
        import os

        v = vendor or self.vendor
        if v == "textract":
            return bool(self.aws_access_key_id or os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")
                        or os.environ.get("AWS_WEB_IDENTITY_TOKEN_FILE")
                        or os.environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"))
        if v == "documentai":
            return bool(self.gcp_project and self.gcp_processor_id
                        and (self.gcp_credentials_file or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")))
        if v == "azure":
            return bool(self.azure_endpoint and self.azure_key)
        return False

    def uses_mock(self, vendor: str | None = None) -> bool:
        if self.mode == "mock":
            return True
        if self.mode == "real":
            return False
        return not self.vendor_configured(vendor)


@lru_cache(maxsize=1)
def get_escalation_settings() -> EscalationSettings:
    return EscalationSettings()


def reload_escalation_settings() -> EscalationSettings:
    get_escalation_settings.cache_clear()
    return get_escalation_settings()
