#!/usr/bin/env bash
# Refuse a Python older than 3.11 before building a virtualenv with it.
set -euo pipefail
py=${1:-python3}
if ! command -v "$py" >/dev/null; then
  echo "error: $py not found. Install Python >= 3.11 (Debian: apt-get install -y python3 python3-venv)" >&2
  exit 1
fi
if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "error: simtrain needs Python >= 3.11; $py is $("$py" --version 2>&1). Run: make PYTHON=/path/to/python3.11 ..." >&2
  exit 1
fi
