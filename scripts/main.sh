#!/usr/bin/env bash
# The main job: install, bring the lab up, run the live policy suite from inside the lab,
# build the offline HTML report and an evidence bundle, print where they are, take the lab
# down (pass --keep-lab to explore it afterwards; `smbtests lab down` ends it).
set -euo pipefail
cd "$(dirname "$0")/.."
keep_lab=0
pytest_args=()
for arg in "$@"; do
  case "$arg" in
    --keep-lab) keep_lab=1 ;;
    *) pytest_args+=("$arg") ;;
  esac
done

bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="reports/lab-$stamp"
mkdir -p "$out"

smbtests lab up
if [ "$keep_lab" -eq 0 ]; then
  trap 'smbtests lab down >/dev/null' EXIT
fi
smbtests lab status

set +e
smbtests lab exec -- pytest --env lab -n auto \
  --alluredir "$out/allure-results" --junitxml "$out/junit.xml" \
  --smb-results "$out/results.json" "${pytest_args[@]}"
suite_rc=$?
set -e

# Two reports: one file that opens from disk (file://), and the folder report, which loads
# its data with fetch() and so shows "Failed to fetch" unless served over HTTP.
previous=$(ls -d reports/lab-*/html 2>/dev/null | grep -v "$out" | tail -n 1 || true)
history=()
[ -n "$previous" ] && history=(--history-from "$previous")
if smbtests report "$out/allure-results" -o "$out/html" "${history[@]}" >/dev/null 2>&1 &&
  smbtests report "$out/allure-results" -o "$out/report-single" --single-file \
    "${history[@]}" >/dev/null 2>&1; then
  report="$out/report-single/index.html (one file: open it from disk)"
  folder="$out/html (serve it: python3 -m http.server --bind 127.0.0.1 --directory $out/html 8000, then http://127.0.0.1:8000/)"
else
  report="(not built: run scripts/install-report-tools.sh)"
  folder="$report"
fi
smbtests evidence "$out/results.json" -o "$out/evidence" --allure-results "$out/allure-results"
smbtests exceptions --env lab --results "$out/results.json" || true

echo
echo "results:  $out/results.json"
echo "junit:    $out/junit.xml"
echo "report:   $report"
echo "folder:   $folder"
echo "evidence: $out/evidence (verify: smbtests evidence verify $out/evidence)"
echo "compare a later run: smbtests diff $out/results.json reports/lab-<later>/results.json"
exit "$suite_rc"
