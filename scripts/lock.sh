#!/usr/bin/env bash
# Refreshes requirements.lock: every runtime and dev dependency pinned with its SHA-256 hashes
# (pip-tools' pip-compile, run from a throwaway venv so the project's own venv stays exactly
# the locked set). Run after changing dependencies in pyproject.toml, then `bash scripts/setup.sh`
# and commit both files. `--upgrade` moves every pin to the newest allowed version.
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools"
"$tools/bin/python" -m pip install -q pip-tools
# Not --allow-unsafe: pip and setuptools are not locked; setup.sh builds the project with
# --no-deps, and pip's build isolation brings the setuptools that [build-system] names.
"$tools/bin/pip-compile" -q --generate-hashes --extra dev --strip-extras --no-emit-index-url \
  --no-emit-find-links --output-file requirements.lock "$@" pyproject.toml
echo "lock: requirements.lock written ($(grep -c '==' requirements.lock) pins)"
