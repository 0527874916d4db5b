#!/usr/bin/env bash
# Set up doc-pipeline on a fresh Debian/Ubuntu machine: system packages, a virtualenv in .venv, Python packages.
# Safe to re-run: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd ghostscript qpdf poppler-utils unpaper pngquant
              fonts-dejavu-core docker-compose postgresql python3-venv chromium)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip wheel
.venv/bin/python -m pip install -q -c constraints.txt -e '.[test]'
echo "setup done: $(.venv/bin/python --version), tesseract $(tesseract --version 2>&1 | head -1 | awk '{print $2}')"
