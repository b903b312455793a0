#!/usr/bin/env bash
# Records golden zkCli transcripts from a REAL ZooKeeper server, for offline tests of our
# simulated zkCli.  Idempotent: run it again at any time; it rewrites the .out files.
#
#   scripts/record-zk-fixtures.sh            # every tests/fixtures/zkcli/*.cmds
#   scripts/record-zk-fixtures.sh 03-acl     # only the named scenario(s) (file stem)
#
# What it does
#   1. Installs, if missing, Debian's `zookeeper` (3.8.0, server + zkCli.sh in
#      /usr/share/zookeeper/bin) and `libjline2-java` (JLine 2 + jansi 1; without them zkCli
#      says "JLine support is disabled", prints no prompt, and behaves unlike a terminal).
#   2. For EVERY scenario tests/fixtures/zkcli/<name>.cmds, in name order:
#      - starts a fresh standalone server (org.apache.zookeeper.server.ZooKeeperServerMain, the
#        class zkServer.sh ends up running for a standalone config) with a brand-new temp
#        dataDir, clientPortAddress=127.0.0.1 (loopback ONLY), port $ZK_PORT (default 21810,
#        which must be free), 4lw.commands.whitelist=*, admin server off, no JMX, and
#        -Dzookeeper.extendedTypesEnabled=true (TTL nodes);
#      - waits for `ruok` -> `imok`;
#      - runs all the scenario's commands (one per line; blank and '#' lines ignored) in ONE
#        real zkCli.sh session (ephemerals, addauth and watches carry across lines), driven
#        through a pty by scripts/zk_record/drive_zkcli.py, one command per prompt;
#      - writes tests/fixtures/zkcli/<name>.out (+ <name>.err) and stops the server.
#   3. Writes tests/fixtures/zkcli/digests.txt (DigestAuthenticationProvider hashes) and
#      tests/fixtures/zkcli/zookeeper-version.txt.
#   Nothing is left running (a trap stops the server and zkCli; temp dirs are removed).
#
# Transcript format (<name>.out): for each command a header line ">>> <command as in .cmds>",
# then exactly the lines zkCli printed for it: the prompt, JLine's echo of the typed line,
# the banner and the connection's initial SyncConnected event are stripped; SLF4J warnings
# (stderr) are dropped (there is no other log output: Debian's zkCli has no SLF4J binding).
# Output is RAW: zxids, times, session ids are not normalised (see the fixtures README).
#
# Streams: zkCli 3.8 prints command RESULTS on stdout (ls/get/stat output, Stat blocks,
# getAcl, "WATCHER::" events, "Sync is OK", "Not connected", version, whoami, listquota's
# "Output quota ..." lines) but prints "Created /x", every error ("Node does not exist: /x",
# "Insufficient permission : /x", ...) and every usage message (including the command list
# that `help` or any unknown command prints) on STDERR.  A person sees both in the terminal,
# so <name>.out MERGES them in arrival order (line granularity); <name>.err repeats the same
# ">>> command" headers with only the stderr lines, so the stream of every line is known.
# Asynchronous watch events are attributed to the command after which they printed (the
# driver waits for 0.6 s of silence after each prompt before typing the next command).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FIXTURES=$ROOT/tests/fixtures/zkcli
DRIVER=$ROOT/scripts/zk_record/drive_zkcli.py
ZK_BIN=/usr/share/zookeeper/bin
ZK_CP=/usr/share/java/zookeeper.jar
PYTHON=$(command -v /usr/bin/python3 || command -v python3)

log() { printf '[record-zk] %s\n' "$*" >&2; }

# ---- 1. packages ---------------------------------------------------------------------------
need=()
for pkg in zookeeper libjline2-java; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if ((${#need[@]})); then
  log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi
command -v java >/dev/null || { log "java not found (Java 17 expected)"; exit 1; }
[[ -x $ZK_BIN/zkCli.sh && -f $ZK_CP ]] || { log "zookeeper package is broken"; exit 1; }
ZK_DEB_VERSION=$(dpkg-query -W -f='${Version}' zookeeper)

# ---- helpers -------------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/zk-record.XXXXXX)
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

# The port is part of the recording (14-session.cmds types `connect 127.0.0.1:21810`), so it
# is fixed rather than searched for.
PORT=${ZK_PORT:-21810}
port_free "$PORT" || { log "port $PORT on 127.0.0.1 is busy; free it or set ZK_PORT"; exit 1; }

start_server() { # start_server NAME
  local dir=$WORK/$1
  rm -rf "$dir"; mkdir -p "$dir/data"
  cat >"$dir/zoo.cfg" <<EOF
tickTime=2000
dataDir=$dir/data
clientPort=$PORT
clientPortAddress=127.0.0.1
4lw.commands.whitelist=*
admin.enableServer=false
maxClientCnxns=60
EOF
  java -Xmx256m -Dzookeeper.extendedTypesEnabled=true \
    -cp "/etc/zookeeper/conf:$ZK_CP" org.apache.zookeeper.server.ZooKeeperServerMain \
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

# ---- 2. scenarios --------------------------------------------------------------------------
shopt -s nullglob
if (($#)); then
  scenarios=(); for n in "$@"; do scenarios+=("$FIXTURES/${n%.cmds}.cmds"); done
else
  scenarios=("$FIXTURES"/*.cmds)
fi
((${#scenarios[@]})) || { log "no scenarios in $FIXTURES"; exit 1; }

log "ZooKeeper $ZK_DEB_VERSION on 127.0.0.1:$PORT; ${#scenarios[@]} scenario(s)"
status=0
for cmds in "${scenarios[@]}"; do
  [[ -f $cmds ]] || { log "missing $cmds"; exit 1; }
  name=$(basename "$cmds" .cmds)
  start_server "$name"
  "$PYTHON" "$DRIVER" --server "127.0.0.1:$PORT" --zkcli "$ZK_BIN/zkCli.sh" --cmds "$cmds" \
    --out "$FIXTURES/$name.out" --err "$FIXTURES/$name.err" || status=1
  stop_server
done

# ---- 3. digests and version ----------------------------------------------------------------
java -cp "$ZK_CP" org.apache.zookeeper.server.auth.DigestAuthenticationProvider \
    user:pass alice:secret bob:builder super:admin 2>/dev/null |
  sed 's/->/ -> /' >"$FIXTURES/digests.txt"
{
  echo "debian-package zookeeper $ZK_DEB_VERSION"
  java -cp "$ZK_CP" org.apache.zookeeper.version.VersionInfoMain 2>/dev/null || true
} >"$FIXTURES/zookeeper-version.txt"

log "done (status $status); fixtures in ${FIXTURES#"$ROOT"/}"
exit $status
