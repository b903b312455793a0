#!/usr/bin/env bash
# Records golden fixtures from REAL kazoo 2.11 talking to a REAL Apache ZooKeeper 3.8 server
# (and, for the programs that import pyspark, REAL PySpark 4.0 in local[2] mode), so that the
# simulated kazoo can be tested offline: the same program run for real and in the simulation
# must print the same stdout.  Idempotent: run it again at any time; it rewrites the outputs.
#
#   scripts/record-kazoo-fixtures.sh                 # every tests/fixtures/kazoo/<name>.py
#   scripts/record-kazoo-fixtures.sh lock counter    # only the named program(s) (file stem)
#   SRC=static/presets OUT=tests/fixtures/presets scripts/record-kazoo-fixtures.sh zk_counter
#                                                    # the page's ZooKeeper presets
#   OUT=/tmp/k scripts/record-kazoo-fixtures.sh      # write the outputs elsewhere (e.g. to diff
#                                                    # a second recording against the first)
#
# What it does
#   1. Installs, if missing, Debian's `zookeeper` package (3.8.0; the server classes in
#      /usr/share/java/zookeeper.jar).  Java 17 must be present.  Uses the venv
#      target/pyspark-venv (pyspark 4.0.x + kazoo 2.11.x) that scripts/record-pyspark-fixtures.sh
#      creates; set VENV=/path/to/venv to use another one (e.g. a git worktree pointing at the
#      main checkout's venv).  If the venv is missing or lacks the packages, it is created /
#      completed from PyPI exactly as record-pyspark-fixtures.sh does.
#   2. For EVERY program tests/fixtures/kazoo/<name>.py (top-level, name order):
#      - starts a FRESH standalone server (org.apache.zookeeper.server.ZooKeeperServerMain, as
#        scripts/record-zk-fixtures.sh does) with a brand-new temp dataDir, tickTime=2000 and
#        default min/maxSessionTimeout (4 s / 40 s), clientPort=2181 on 127.0.0.1 ONLY (the
#        programs use the literal hosts string "127.0.0.1:2181", so the port is fixed and must
#        be free), 4lw.commands.whitelist=ruok, admin server off;
#      - waits for `ruok` -> `imok`;
#      - runs the program from tests/fixtures/kazoo:
#          * if it imports pyspark: through scripts/record-pyspark-fixtures.sh with
#            SRC=OUT=tests/fixtures/kazoo MASTER='local[2]', which writes <name>.out (stdout),
#            <name>.json (Spark job summary incl. the exit code) and <name>.err (stderr minus
#            JVM noise, when non-empty) -- read that script's header;
#          * otherwise with the venv's python, PYTHONHASHSEED=0, writing <name>.out (stdout,
#            byte for byte) and <name>.err (stderr, only when non-empty); a non-zero exit code
#            is reported and makes this script exit 1;
#          * from both kinds of .err, kazoo's racy "Connection dropped: socket connection
#            broken" warning is removed (see drop_kazoo_noise below);
#      - stops the server (SIGTERM, then SIGKILL after 5 s).
#   3. Writes tests/fixtures/kazoo/VERSION (kazoo, pyspark, python, java, zookeeper versions).
#   Nothing is left running: a trap stops the server and removes the temp dirs.
#   ~3 s per pure-kazoo program, ~15-25 s per PySpark one.
#
# Determinism: the programs print only relations between zxids/session ids/times, never the
# values, and wait for watch callbacks with Events/timeouts; recording twice and diffing gives
# no difference (see tests/fixtures/kazoo/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FIXTURES=${SRC:-$ROOT/tests/fixtures/kazoo}
FIXTURES=$(cd "$FIXTURES" && pwd)
OUT=${OUT:-$FIXTURES}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
VENV=${VENV:-$ROOT/target/pyspark-venv}
ZK_CP=/usr/share/java/zookeeper.jar
PORT=2181
PYTHON=$(command -v /usr/bin/python3 || command -v python3)

log() { printf '[record-kazoo] %s\n' "$*" >&2; }

# ---- 1. packages, Java, venv ---------------------------------------------------------------
if ! dpkg-query -W -f='${Status}' zookeeper 2>/dev/null | grep -q 'install ok installed'; then
  log "installing zookeeper"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q zookeeper >/dev/null
fi
[[ -f $ZK_CP ]] || { log "zookeeper package is broken ($ZK_CP missing)"; exit 1; }
ZK_DEB_VERSION=$(dpkg-query -W -f='${Version}' zookeeper)
if [[ -z ${JAVA_HOME:-} ]]; then
  for j in /usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/java-17-openjdk-arm64 /usr/lib/jvm/java-17-openjdk; do
    [[ -x $j/bin/java ]] && { export JAVA_HOME=$j; break; }
  done
fi
[[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]] || { log "Java 17 not found; set JAVA_HOME"; exit 1; }
export PATH=$JAVA_HOME/bin:$PATH

venv_ok() {
  [[ -x $VENV/bin/python ]] && "$VENV/bin/python" - <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if version("pyspark").startswith("4.0.") and version("kazoo").startswith("2.11.") else 1)
EOF
}
if ! venv_ok; then
  log "creating/completing $VENV (pyspark==4.0.* kazoo==2.11.*)"
  [[ -x $VENV/bin/python ]] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check 'pyspark==4.0.*' 'kazoo==2.11.*'
fi
# record-pyspark-fixtures.sh always uses $ROOT/target/pyspark-venv: make sure it is this venv.
if [[ $(realpath -m "$VENV") != $(realpath -m "$ROOT/target/pyspark-venv") ]]; then
  if [[ -e $ROOT/target/pyspark-venv || -L $ROOT/target/pyspark-venv ]]; then
    log "VENV=$VENV but $ROOT/target/pyspark-venv is another venv; the PySpark programs would use that one"
    exit 1
  fi
  mkdir -p "$ROOT/target"; ln -s "$(realpath "$VENV")" "$ROOT/target/pyspark-venv"
fi

# ---- helpers -------------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/kazoo-record.XXXXXX)
SERVER_PID=""

stop_server() {
  if [[ -n $SERVER_PID ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() {
  "$PYTHON" - "$1" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # like the server; ignores TIME_WAIT
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
}

four_letter() { # four_letter PORT WORD -> reply on stdout
  "$PYTHON" - "$1" "$2" <<'EOF'
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
    s.sendall(sys.argv[2].encode())
    data = b""
    while chunk := s.recv(4096):
        data += chunk
    print(data.decode(), end="")
except OSError:
    pass
EOF
}

start_server() { # start_server NAME
  local dir=$WORK/$1
  rm -rf "$dir"; mkdir -p "$dir/data"
  cat >"$dir/zoo.cfg" <<EOF
tickTime=2000
dataDir=$dir/data
clientPort=$PORT
clientPortAddress=127.0.0.1
4lw.commands.whitelist=ruok
admin.enableServer=false
maxClientCnxns=60
EOF
  java -Xmx256m -cp "/etc/zookeeper/conf:$ZK_CP" org.apache.zookeeper.server.ZooKeeperServerMain \
    "$dir/zoo.cfg" >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 150); do
    [[ $(four_letter "$PORT" ruok) == imok ]] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.2
  done
  log "server did not start; log:"; cat "$dir/server.log" >&2
  exit 1
}

# kazoo's connection thread logs (WARNING, through Python's last-resort handler, i.e. bare on
# stderr) "Connection dropped: socket connection broken" when it reads the server's EOF before
# it notices that zk.stop() is closing the connection (kazoo/protocol/connection.py:653): a
# race that shows up in about one run in three.  Dropped, like the JVM noise the PySpark
# recorder drops; the file is removed if nothing else is left.
drop_kazoo_noise() { # drop_kazoo_noise FILE
  sed -i '/^Connection dropped: socket connection broken$/d' "$1"
  [[ -s $1 ]] || rm -f "$1"
}

# ---- 2. programs ---------------------------------------------------------------------------
shopt -s nullglob
if (($#)); then
  programs=(); for n in "$@"; do programs+=("$FIXTURES/${n%.py}.py"); done
else
  programs=("$FIXTURES"/[!_]*.py)
fi
((${#programs[@]})) || { log "no programs in $FIXTURES"; exit 1; }
port_free "$PORT" || { log "port $PORT on 127.0.0.1 is busy; free it first"; exit 1; }

log "ZooKeeper $ZK_DEB_VERSION on 127.0.0.1:$PORT; ${#programs[@]} program(s); out ${OUT#"$ROOT"/}"
status=0
for prog in "${programs[@]}"; do
  [[ -f $prog ]] || { log "missing $prog"; exit 1; }
  name=$(basename "$prog" .py)
  start_server "$name"
  if grep -qE '^(from|import) pyspark' "$prog"; then
    SRC=$FIXTURES OUT=$OUT MASTER='local[2]' "$ROOT/scripts/record-pyspark-fixtures.sh" "$name" || status=1
    # That recorder replaces the venv's site-packages path by "<site-packages>" after
    # realpath(); when target/pyspark-venv is a symlink (a git worktree sharing the main
    # checkout's venv) tracebacks show the symlinked path: normalise that one too.
    for f in "$OUT/$name.err" "$OUT/$name.json"; do
      if [[ -f $f ]]; then sed -i "s#$ROOT/target/pyspark-venv/lib/python[0-9.]*/site-packages#<site-packages>#g" "$f"; fi
    done
    if [[ -f $OUT/$name.err ]]; then drop_kazoo_noise "$OUT/$name.err"; fi
  else
    rc=0
    (cd "$FIXTURES" && PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 exec "$VENV/bin/python" "$name.py") \
      >"$OUT/$name.out" 2>"$WORK/$name.stderr" || rc=$?
    rm -f "$OUT/$name.err" "$OUT/$name.json"
    cp "$WORK/$name.stderr" "$OUT/$name.err"
    drop_kazoo_noise "$OUT/$name.err"
    ((rc == 0)) || { log "$name exited with $rc"; status=1; }
    log "$(printf '%-28s exit %-3s %4s lines%s' "$name" "$rc" "$(wc -l <"$OUT/$name.out")" \
      "$([[ -f $OUT/$name.err ]] && echo '  +stderr')")"
  fi
  stop_server
  port_free "$PORT" || sleep 1
done

# ---- 3. versions ---------------------------------------------------------------------------
{
  "$VENV/bin/python" - <<'EOF'
import platform
from importlib.metadata import version
print("kazoo", version("kazoo"))
print("pyspark", version("pyspark"))
print("py4j", version("py4j"))
print("python", platform.python_version())
EOF
  echo "java $(java -version 2>&1 | head -n1 | sed 's/.*version "\([^"]*\)".*/\1/')"
  echo "debian-package zookeeper $ZK_DEB_VERSION"
  java -cp "$ZK_CP" org.apache.zookeeper.version.VersionInfoMain 2>/dev/null || true
  echo "master local[2] (PySpark programs)"
} >"$OUT/VERSION"

log "done (status $status)"
exit $status
