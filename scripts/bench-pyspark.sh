#!/usr/bin/env bash
# Times the Spark benchmark's word count on real PySpark (local[1] and local[2]) over the same
# generated input as `zkspark bench-spark`, for comparison with the engine's figures.
#
#   scripts/bench-pyspark.sh [MB]        # default 10
#
# Uses the venv of scripts/record-pyspark-fixtures.sh (target/pyspark-venv, created there) and
# Java 17; everything listens on 127.0.0.1. The time excludes the JVM's start (the SparkContext
# is up before the clock starts) and includes reading the file and both stages.
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${1:-10}
VENV=target/pyspark-venv
[[ -x $VENV/bin/python ]] || { echo "no $VENV: run scripts/record-pyspark-fixtures.sh once first" >&2; exit 1; }
for j in /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-17-openjdk-arm64; do [[ -x $j/bin/java ]] && export JAVA_HOME=$j; done
INPUT=target/bench-input-${MB}mb.txt
cargo run --quiet --profile speed --bin zkspark -- bench-spark --mb "$MB" --write "$INPUT" >/dev/null
export SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON=$PWD/$VENV/bin/python
unset SPARK_HOME PYTHONPATH
for master in 'local[1]' 'local[2]'; do
  PYSPARK_SUBMIT_ARGS="--master $master --conf spark.ui.enabled=false --conf spark.driver.bindAddress=127.0.0.1 --conf spark.driver.host=127.0.0.1 pyspark-shell" \
  "$VENV/bin/python" - "$INPUT" "$master" <<'PY' 2>/dev/null
import sys, time
from operator import add
from pyspark import SparkContext
sc = SparkContext(appName="bench")
sc.setLogLevel("ERROR")
path, master = sys.argv[1], sys.argv[2]
words = sum(len(l.split()) for l in open(path))
t = time.perf_counter()
counts = sc.textFile(path, 4).flatMap(lambda line: line.split()).map(lambda w: (w, 1)).reduceByKey(add)
total, distinct = sum(counts.values().collect()), counts.count()
s = time.perf_counter() - t
assert total == words
print(f"PySpark {master:<9} {words / s:>12.0f} words/s  ({s:.3f} s, {total} words, {distinct} distinct)")
sc.stop()
PY
done
