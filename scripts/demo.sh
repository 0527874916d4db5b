#!/usr/bin/env bash
# README command 1: set up, generate the sample documents and process them on the embedded default (no servers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMP_THREAD_LIMIT=1
.venv/bin/doc-pipeline samples samples
.venv/bin/doc-pipeline process samples --show
