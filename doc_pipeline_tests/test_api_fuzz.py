"""Property-based fuzz of every operation in the OpenAPI schema (schemathesis + hypothesis): no input gives a 5xx."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from doc_pipeline_tests.test_api_support import auth, embedded_env, seed_document, seed_steps  # noqa: F401

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES_PER_OPERATION = 40


def test_no_server_errors_for_generated_requests(embedded_env):
    from fastapi.testclient import TestClient

    from api.main import app

    with TestClient(app):  # runs the lifespan (auth config) once
        pass
    seed_document("a" * 32, owner="admin", flagged=True, flag_reasons=[{"code": "x", "reason": "y", "field": None}])
    seed_steps("a" * 32, {"raw_pdf": "done", "ocr_text": "failed"})
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 11
    failures: list[str] = []
    for op in operations:
        for headers in (auth("admin", "admin"), auth("uploader-1", "uploader")):

            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy())
            def call(case):
                resp = case.call(headers=headers)
                if resp.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} -> {resp.status_code}: {resp.text[:300]}")

            call()
    assert failures == []
