#!/usr/bin/env bash
# Records golden fixtures from REAL PySpark 4.0.x in local mode, so the Spark engine can be
# tested offline against them.  Idempotent: run it again at any time; it rewrites the outputs.
#
#   scripts/record-pyspark-fixtures.sh                 # every tests/fixtures/pyspark/<name>.py
#   scripts/record-pyspark-fixtures.sh wordcount joins # only the named program(s) (file stem)
#   MASTER='local[2]' OUT=/tmp/x scripts/record-pyspark-fixtures.sh   # other master / out dir
#   SRC=static/presets OUT=tests/fixtures/presets scripts/record-pyspark-fixtures.sh
#                                                      # the page's presets (SRC: programs' dir)
#
# What it does
#   1. Creates, if missing, a venv in target/pyspark-venv (target/ is gitignored) and installs
#      into it from PyPI  pyspark==4.0.*  (recorded with 4.0.5, py4j 0.10.9.9) and
#      kazoo==2.11.*  (recorded with 2.11.0; only closures_kazoo.py imports it).  The exact
#      versions (and Python's and Java's) go to tests/fixtures/pyspark/VERSION.
#   2. Runs every program tests/fixtures/pyspark/<name>.py (top-level *.py only; _recorder/ holds
#      the recorder's own helpers), in name order, each with a fresh JVM, as
#        cd tests/fixtures/pyspark && python <name>.py      # so 'data/...' paths resolve
#      with PYSPARK_SUBMIT_ARGS set, so that PySpark starts its JVM through
#        spark-submit --master local[4]                     # $MASTER
#          --conf spark.ui.enabled=false
#          --conf spark.driver.bindAddress=127.0.0.1 --conf spark.driver.host=127.0.0.1
#          --conf spark.ui.showConsoleProgress=false
#          --conf spark.eventLog.enabled=true (+ .dir, .compress=false, .rolling.enabled=false)
#          --driver-java-options -Dlog4j.configurationFile=_recorder/log4j2.properties
#          pyspark-shell
#      Why not `spark-submit <name>.py`: its PythonRunner merges the Python driver's stderr into
#      its stdout (ProcessBuilder.redirectErrorStream), so tracebacks would land in <name>.out.
#      Same Spark, same options, same call sites; only the parent process differs (this is
#      also how `python3 job.py` runs with a pip-installed PySpark).
#      _recorder/sitecustomize.py (on the driver's PYTHONPATH only) labels the jobs PySpark
#      leaves without a call site (take, first, isEmpty, ... go through SparkContext.runJob;
#      saveAsTextFile) with the program line, in a job property; it changes nothing else.
#      Environment: SPARK_LOCAL_IP=127.0.0.1, PYTHONHASHSEED=0 (driver; Spark gives its Python
#      workers 0 anyway), JAVA_HOME = Java 17, PYSPARK_PYTHON = the venv's python.
#      Spark logs at level ERROR into target/pyspark-fixtures/logs/<name>.log (not the console),
#      so stdout is exactly the program's prints.
#   3. Writes, per program:
#        <name>.out   its stdout, byte for byte, except that the fixture directory's absolute
#                     path is cut out of it (only rdd_repr.py prints one: toDebugString);
#        <name>.json  from Spark's event log (a real SparkListener, EventLoggingListener, whose
#                     JSON lines land in target/pyspark-fixtures/events/<name>/), via
#                     _recorder/summarize.py: for every job (= every action, plus the jobs
#                     some transformations run, e.g. sortByKey's sampling, zipWithIndex's
#                     counts) its call site "<action> at <file>.py:<line>", its stages (ids,
#                     tasks, parent stages, skipped or not, attempts, task successes/failures)
#                     and the RDDs inside each stage with their partition counts; plus
#                     master, executor cores, Spark version and the exit code;
#        <name>.err   its stderr minus JVM/Spark console noise, paths normalised -- only when
#                     something is left (programs that fail on purpose, closure pickling
#                     errors, which PySpark also prints to stderr, prints from inside tasks).
#   Nothing is left running: each JVM exits with its Python driver (on sc.stop(), or, when the
#   program dies, on EOF from the driver; the recorder waits for the event log to be closed).
#   ~10-30 s per program; everything listens on 127.0.0.1 only.
#
# Determinism: the outputs are identical from run to run (checked by recording twice and
# diffing); see tests/fixtures/pyspark/README.md for what is order-sensitive and why.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FIXTURES=$ROOT/tests/fixtures/pyspark
OUT=${OUT:-$FIXTURES}
SRC=$(cd "${SRC:-$FIXTURES}" && pwd)
VENV=$ROOT/target/pyspark-venv
WORK=$ROOT/target/pyspark-fixtures
MASTER=${MASTER:-local[4]}
PYSPARK_SPEC='pyspark==4.0.*'   # recorded with pyspark 4.0.5
KAZOO_SPEC='kazoo==2.11.*'      # recorded with kazoo 2.11.0

log() { printf '[record-pyspark] %s\n' "$*" >&2; }

# ---- 1. Java 17 and the venv ---------------------------------------------------------------
if [[ -z ${JAVA_HOME:-} ]]; then
  for j in /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-17-openjdk-arm64 /usr/lib/jvm/java-17-openjdk; do
    [[ -x $j/bin/java ]] && { export JAVA_HOME=$j; break; }
  done
fi
[[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]] || { log "Java 17 not found; set JAVA_HOME"; exit 1; }
export PATH=$JAVA_HOME/bin:$PATH

PYTHON=$(command -v python3)
if [[ ! -x $VENV/bin/python ]]; then
  log "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
if ! "$VENV/bin/python" - "$PYSPARK_SPEC" "$KAZOO_SPEC" <<'EOF' 2>/dev/null; then
import sys
from importlib.metadata import version
ok = version("pyspark").startswith("4.0.") and version("kazoo").startswith("2.11.")
sys.exit(0 if ok else 1)
EOF
  log "installing $PYSPARK_SPEC $KAZOO_SPEC from PyPI"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$PYSPARK_SPEC" "$KAZOO_SPEC"
fi
SITE_PACKAGES=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

mkdir -p "$OUT" "$WORK/logs" "$WORK/events" "$WORK/raw"
{
  "$VENV/bin/python" - <<'EOF'
import platform
from importlib.metadata import version
print("pyspark", version("pyspark"))
print("py4j", version("py4j"))
print("kazoo", version("kazoo"))
print("python", platform.python_version())
EOF
  echo "java $("$JAVA_HOME/bin/java" -version 2>&1 | head -n1 | sed 's/.*version "\([^"]*\)".*/\1/')"
  echo "master $MASTER"
} >"$OUT/VERSION"

# ---- 2. programs ---------------------------------------------------------------------------
shopt -s nullglob
if (($#)); then
  programs=(); for n in "$@"; do programs+=("$SRC/${n%.py}.py"); done
else
  programs=("$SRC"/[!_]*.py)
fi
((${#programs[@]})) || { log "no programs in $SRC"; exit 1; }

export SPARK_LOCAL_IP=127.0.0.1 PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1
export PYSPARK_PYTHON=$VENV/bin/python
unset SPARK_HOME PYTHONPATH PYSPARK_SUBMIT_ARGS
log "$(tr '\n' ' ' <"$OUT/VERSION")"
log "${#programs[@]} program(s), master $MASTER"
for prog in "${programs[@]}"; do
  [[ -f $prog ]] || { log "missing $prog"; exit 1; }
  name=$(basename "$prog" .py)
  ev=$WORK/events/$name
  rm -rf "$ev"; mkdir -p "$ev"
  # shlex-quoted (PySpark splits PYSPARK_SUBMIT_ARGS with shlex); must end with pyspark-shell
  PYSPARK_SUBMIT_ARGS="--master $(printf %q "$MASTER") \
--conf spark.ui.enabled=false \
--conf spark.driver.bindAddress=127.0.0.1 \
--conf spark.driver.host=127.0.0.1 \
--conf spark.ui.showConsoleProgress=false \
--conf spark.eventLog.enabled=true \
--conf $(printf %q "spark.eventLog.dir=file://$ev") \
--conf spark.eventLog.compress=false \
--conf spark.eventLog.rolling.enabled=false \
--driver-java-options $(printf %q "-Dlog4j.configurationFile=file:$FIXTURES/_recorder/log4j2.properties -Dzkspark.logfile=$WORK/logs/$name.log") \
pyspark-shell"
  export PYSPARK_SUBMIT_ARGS
  rc=0
  (cd "$SRC" && PYTHONPATH=$FIXTURES/_recorder ZKSPARK_RECORD_CALLSITES=1 exec "$VENV/bin/python" "$name.py") \
    >"$WORK/raw/$name.stdout" 2>"$WORK/raw/$name.stderr" || rc=$?
  # The JVM outlives a Python driver that dies without sc.stop(): it stops the SparkContext in
  # a shutdown hook, which closes the event log (renaming away ".inprogress").  Wait for that.
  for _ in $(seq 300); do
    compgen -G "$ev/*.inprogress" >/dev/null || break
    sleep 0.1
  done
  "$VENV/bin/python" "$FIXTURES/_recorder/summarize.py" "$name" "$ev" \
    "$WORK/raw/$name.stdout" "$WORK/raw/$name.stderr" "$rc" \
    "$OUT/$name.out" "$OUT/$name.json" "$OUT/$name.err" "$SRC" "$SITE_PACKAGES"
  jobs=$("$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["numJobs"])' "$OUT/$name.json")
  log "$(printf '%-28s exit %-3s %4s lines  %3s jobs%s' "$name" "$rc" "$(wc -l <"$OUT/$name.out")" "$jobs" \
    "$([[ -f $OUT/$name.err ]] && echo '  +stderr')")"
done
log "done; fixtures in ${OUT#"$ROOT"/}"
