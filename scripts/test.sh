#!/usr/bin/env bash
# README command 2: set up and run the test suite (real Tesseract, real Postgres, S3 over HTTP via moto).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMP_THREAD_LIMIT=1
exec .venv/bin/python -m pytest -q -p no:cacheprovider doc_pipeline_tests "$@"
