#!/usr/bin/env bash
# Measures how long a REAL ZooKeeper 3.8 ensemble takes to recover from a leader kill, so the
# simulator's failover figure can be reported beside the real one.  Idempotent: run it again
# at any time; it rewrites tests/fixtures/zk-failover/real-3.8.txt.  Takes a few minutes.
#
#   scripts/measure-zk-failover.sh          # 10 rounds
#   scripts/measure-zk-failover.sh 20       # N rounds
#
# What it does
#   1. Checks for Debian's `zookeeper` package (3.8.0; server classes in
#      /usr/share/java/zookeeper.jar), java (17) and kazoo in target/pyspark-venv.
#   2. Writes, in a fresh temp dir, a config + myid + start script for a 3-server ensemble
#      (org.apache.zookeeper.server.quorum.QuorumPeerMain), everything on 127.0.0.1 ONLY:
#        server id  client port  quorum port  election port
#            1         22181        22888         23888
#            2         22182        22889         23889
#            3         22183        22890         23890
#      tickTime=2000 initLimit=10 syncLimit=5 (the 3.8 sample-config values our simulation
#      uses), clientPortAddress=127.0.0.1, 4lw.commands.whitelist=srvr,stat,ruok, admin server
#      off, no remote JMX, -Xmx256m.  Server output goes to <tmp>/zk<id>/server.log through
#      log4j 1.2 (slf4j-log4j12 on the classpath; Debian's server jar has no SLF4J binding,
#      so it would otherwise log nothing), INFO level, ISO8601 timestamps with milliseconds.
#   3. Runs scripts/zk_record/zk_failover.py, which starts the three JVMs, waits for one
#      `Mode: leader` (srvr) and a working write through every server, then N times: SIGKILLs
#      the leader's JVM and polls every 10 ms for (a) a survivor reporting `Mode: leader` and
#      (b) a kazoo `set` through a client pinned to a survivor succeeding; reads the
#      survivors' logs for when they went LOOKING and the election time the new leader
#      logged; restarts the killed server and waits for it to report `Mode: follower`.
#      (See the helper's docstring for the exact definitions.)
#   4. Prints the table and writes it, with min/median/max, the versions and a machine note,
#      to tests/fixtures/zk-failover/real-3.8.txt.
#   Nothing is left running: a trap stops every JVM this script started (pids in
#   <tmp>/zk<id>/pid, checked against the command line before killing) and removes the temp
#   dir.  Set KEEP_WORK=1 to keep the temp dir (server logs) for inspection.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${1:-10}
OUT_DIR=$ROOT/tests/fixtures/zk-failover
OUT=$OUT_DIR/real-3.8.txt
HELPER=$ROOT/scripts/zk_record/zk_failover.py
VENV_PY=$ROOT/target/pyspark-venv/bin/python
ZK_CP=/usr/share/java/zookeeper.jar
# log4j config dir + SLF4J -> log4j 1.2 binding (both from Debian packages zookeeper deps).
LOG_CP=/etc/zookeeper/conf:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar
CLIENT_PORTS=(22181 22182 22183)
QUORUM_PORTS=(22888 22889 22890)
ELECTION_PORTS=(23888 23889 23890)

log() { printf '[measure-zk-failover] %s\n' "$*" >&2; }

# ---- 1. prerequisites ----------------------------------------------------------------------
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { log "usage: $0 [ROUNDS]"; exit 2; }
dpkg-query -W -f='${Status}' zookeeper 2>/dev/null | grep -q 'install ok installed' || {
  log "Debian package zookeeper is not installed (apt-get install zookeeper)"; exit 1; }
[[ -f $ZK_CP ]] || { log "$ZK_CP missing"; exit 1; }
for j in /usr/share/java/slf4j-log4j12.jar /usr/share/java/log4j-1.2.jar \
         /etc/zookeeper/conf/log4j.properties; do
  [[ -f $j ]] || { log "$j missing (needed for server logs)"; exit 1; }
done
command -v java >/dev/null || { log "java not found (Java 17 expected)"; exit 1; }
[[ -x $VENV_PY ]] && "$VENV_PY" -c 'import kazoo' 2>/dev/null || {
  log "$VENV_PY with kazoo not found (scripts/setup.sh creates it)"; exit 1; }

port_free() {
  "$VENV_PY" - "$1" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # like the server; ignores TIME_WAIT
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
}
for p in "${CLIENT_PORTS[@]}" "${QUORUM_PORTS[@]}" "${ELECTION_PORTS[@]}"; do
  port_free "$p" || { log "port $p on 127.0.0.1 is busy"; exit 1; }
done

# ---- cleanup -------------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/zk-failover.XXXXXX)
cleanup() {
  local pidfile pid
  for pidfile in "$WORK"/zk*/pid; do
    [[ -f $pidfile ]] || continue
    pid=$(<"$pidfile")
    # Only a JVM of ours: its command line names our temp dir.
    if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$WORK"; then
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  if [[ ${KEEP_WORK:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 2. ensemble configuration -------------------------------------------------------------
servers=""
for i in 0 1 2; do
  servers+="server.$((i + 1))=127.0.0.1:${QUORUM_PORTS[i]}:${ELECTION_PORTS[i]}"$'\n'
done
for i in 0 1 2; do
  id=$((i + 1)); dir=$WORK/zk$id
  mkdir -p "$dir/data"
  echo "$id" >"$dir/data/myid"
  cat >"$dir/zoo.cfg" <<EOF
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$dir/data
clientPort=${CLIENT_PORTS[i]}
clientPortAddress=127.0.0.1
4lw.commands.whitelist=srvr,stat,ruok
admin.enableServer=false
maxClientCnxns=60
EOF
  printf '%s' "$servers" >>"$dir/zoo.cfg"
  cat >"$dir/start.sh" <<EOF
#!/usr/bin/env bash
# Started (and restarted) by zk_failover.py; exec so the recorded pid is the JVM's.
cd "$dir"
exec java -Xmx256m -Dzookeeper.log.dir="$dir" -Dzookeeper.root.logger=INFO,CONSOLE \\
  -Dzookeeper.admin.enableServer=false \\
  -cp "$LOG_CP:$ZK_CP" org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" \\
  >>"$dir/server.log" 2>&1
EOF
  chmod +x "$dir/start.sh"
done

# ---- 3./4. measure and write ---------------------------------------------------------------
mkdir -p "$OUT_DIR"
HEADER=$WORK/header.txt
{
  echo "# Leader-kill recovery of a REAL ZooKeeper 3.8 ensemble, measured by"
  echo "# scripts/measure-zk-failover.sh on $(date -u +%Y-%m-%dT%H:%MZ) ($ROUNDS rounds)."
  echo "# Timings vary run to run and machine to machine; this is a reference figure, not a golden file."
  echo
  echo "Versions:"
  echo "  debian-package zookeeper $(dpkg-query -W -f='${Version}' zookeeper)"
  java -cp "$ZK_CP" org.apache.zookeeper.version.VersionInfoMain 2>/dev/null | sed 's/^/  /' || true
  java -version 2>&1 | head -2 | sed 's/^/  /'
  echo "  kazoo $("$VENV_PY" -c 'import kazoo; print(kazoo.__version__)'), $("$VENV_PY" -V 2>&1)"
  echo "Machine:"
  echo "  $(uname -srm); $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')); $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo)"
  echo "  all three servers and the clients on this one machine, over 127.0.0.1 (no network latency;"
  echo "  a killed JVM's sockets are closed by the kernel at once, so peers see EOF/RST immediately)"
  echo "Ensemble:"
  echo "  3 x QuorumPeerMain, tickTime=2000 initLimit=10 syncLimit=5, electionAlg 3 (FastLeaderElection),"
  echo "  client ports ${CLIENT_PORTS[*]}, quorum ports ${QUORUM_PORTS[*]}, election ports ${ELECTION_PORTS[*]}"
  echo "  fault: kill -9 of the leader's JVM; polls every 10 ms; killed server restarted between rounds"
} >"$HEADER"

log "ensemble in $WORK; $ROUNDS rounds"
"$VENV_PY" "$HELPER" --work "$WORK" --rounds "$ROUNDS" \
  --ports "$(IFS=,; echo "${CLIENT_PORTS[*]}")" --out "$OUT" --header "$HEADER"
log "wrote ${OUT#"$ROOT"/}"
