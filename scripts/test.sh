#!/usr/bin/env bash
# The project's own tests: unit tests, plugin tests, and lab integration tests (which bring
# the lab up once, run the policy suite against it and every scenario, and take it down).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
