#!/usr/bin/env bash
# Records what CPython 3.11 prints for each tests/fixtures/py/<name>.py: stdout to <name>.out,
# stderr (the traceback of an uncaught exception) to <name>.err with the file name normalised to
# "<job>", as tests/py_conformance.rs compares them. String hashing is pinned (PYTHONHASHSEED=0)
# so that sets of strings iterate in one order, the order our interpreter reproduces.
set -euo pipefail
cd "$(dirname "$0")/../tests/fixtures/py"
PY=${PYTHON:-python3}
case "$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" in
  3.11) ;;
  *) echo "record-py-fixtures: needs CPython 3.11 (set PYTHON=...)" >&2; exit 1 ;;
esac
for src in *.py; do
  name=${src%.py}
  set +e
  PYTHONHASHSEED=0 PYTHONIOENCODING=utf-8 "$PY" "$src" > "$name.out" 2> "$name.err.tmp"
  set -e
  sed -e "s|File \"[^\"]*/$src\"|File \"<job>\"|g" -e "s|File \"$src\"|File \"<job>\"|g" "$name.err.tmp" > "$name.err"
  rm -f "$name.err.tmp"
  [ -s "$name.err" ] || rm -f "$name.err"
done
echo "recorded $(ls *.py | wc -l) fixtures with $("$PY" --version)"
