#!/usr/bin/env python3
"""Drive ONE real zkCli.sh session through a pseudo-terminal and write a transcript.

Used by scripts/record-zk-fixtures.sh (read that file's header first).  Standard library only.

    drive_zkcli.py --server 127.0.0.1:21810 --cmds foo.cmds --out foo.out [--err foo.err]
                   [--zkcli PATH] [--quiet SECONDS] [--timeout SECONDS]

How it works
  * zkCli.sh runs with stdin/stdout on a pty (so JLine 2 is active and prints its prompt
    "[zk: 127.0.0.1:21810(CONNECTED) N] ", exactly as for a person at a terminal) and with
    stderr on a separate pipe (so we know which stream every line came from).
  * The banner ("Connecting to ...", "Welcome to ZooKeeper!", "JLine support is enabled") and
    the connection's own "WATCHER:: / WatchedEvent state:SyncConnected" event are discarded.
  * Commands are typed one at a time.  For each: JLine's echo of the typed line is dropped,
    everything up to the next prompt is the command's output, and after the prompt we keep
    reading until the terminal has been quiet for --quiet seconds (asynchronous watch events
    that land after the prompt are attributed to the same command; a note is printed).
  * stdout and stderr lines are merged in arrival order (line granularity).  "SLF4J:" lines
    on stderr (the logging-binding warning; there is no log output otherwise) are dropped.
  * If zkCli exits (`quit`, or an uncaught exception such as the NumberFormatException of
    `set -v abc /x y`, which kills the JVM) its output is read until EOF and later commands
    are not sent.
  * At the end the session is ended with Ctrl-D (JLine returns null -> System.exit).

Transcript format (<name>.out): for every command one header line ">>> <command>" followed by
the output lines, raw (no normalisation), "\\r\\n" turned into "\\n".  <name>.err has the same
headers but only the lines that came from stderr (so stdout = .out minus .err, line by line).
"""

import argparse
import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

PROMPT = re.compile(rb"\[zk: [^\]\r\n]*?\((?P<state>[A-Za-z_]+)\) (?P<n>\d+)\] ")
ZK_JARS = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar"
# JLine 2 (Debian libjline2-java) needs jansi 1.x, which its manifest does not point at.
JLINE_JARS = "/usr/share/java/jline2.jar:/usr/share/java/jansi1.jar"


def log(msg):
    print(f"[drive_zkcli] {msg}", file=sys.stderr, flush=True)


class Session:
    def __init__(self, zkcli, server, timeout):
        self.timeout = timeout
        master, slave = pty.openpty()
        # A very wide terminal so JLine never wraps or redraws long command lines.
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 4000, 0, 0))
        env = dict(os.environ)
        env["TERM"] = "dumb"
        # zkCli.sh puts $CLIENT_JVMFLAGS after its own -cp; the JVM honours the last -cp, so
        # this adds JLine to Debian's fixed CLASSPATH without editing any system file.
        env["CLIENT_JVMFLAGS"] = f"-cp {ZK_JARS}:{JLINE_JARS}"
        env.pop("JVMFLAGS", None)
        self.proc = subprocess.Popen(
            [zkcli, "-server", server],
            stdin=slave, stdout=slave, stderr=subprocess.PIPE,
            env=env, close_fds=True, start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self.err_fd = self.proc.stderr.fileno()
        self.out_eof = False
        self.err_eof = False
        # Raw stdout bytes not yet consumed by the parser, and the merged line list.
        self.out_buf = b""
        self.err_partial = b""
        self.lines = []  # merged (stream, text) in arrival order

    # -- low level -------------------------------------------------------------------------
    def _read_once(self, wait):
        """One select round; returns True if anything arrived."""
        fds = []
        if not self.out_eof:
            fds.append(self.master)
        if not self.err_eof:
            fds.append(self.err_fd)
        if not fds:
            time.sleep(wait)
            return False
        r, _, _ = select.select(fds, [], [], wait)
        got = False
        # Read stderr first only if stdout has nothing: arrival order is all we know.
        for fd in r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if fd == self.master:
                if not data:
                    self.out_eof = True
                else:
                    self.out_buf += data
                    got = True
            else:
                if not data:
                    self.err_eof = True
                else:
                    self._take_err(data)
                    got = True
        return got

    def _take_err(self, data):
        self.err_partial += data
        while b"\n" in self.err_partial:
            line, self.err_partial = self.err_partial.split(b"\n", 1)
            text = line.rstrip(b"\r").decode("utf-8", "replace")
            if text.startswith("SLF4J:"):
                continue
            self.lines.append(("err", text))

    def _flush_out_lines(self):
        """Move complete stdout lines (not containing a prompt) into self.lines."""
        while b"\n" in self.out_buf:
            line, rest = self.out_buf.split(b"\n", 1)
            if PROMPT.search(line):
                return
            self.out_buf = rest
            self.lines.append(("out", line.rstrip(b"\r").decode("utf-8", "replace")))

    def wait_for(self, pred, timeout):
        end = time.time() + timeout
        while time.time() < end:
            if pred():
                return True
            if self.out_eof and self.err_eof:
                return pred()
            self._read_once(0.05)
        return pred()

    def settle(self, quiet):
        """Read until nothing has arrived for `quiet` seconds."""
        last = time.time()
        hard_end = last + self.timeout
        while time.time() < hard_end:
            if self._read_once(0.05):
                last = time.time()
            elif time.time() - last >= quiet:
                return
            if self.out_eof and self.err_eof:
                return

    def take_prompt(self):
        """If out_buf holds a prompt, drop it (and any partial line before it, kept as a line)."""
        m = PROMPT.search(self.out_buf)
        if not m:
            return None
        before = self.out_buf[: m.start()]
        # complete lines before the prompt
        while b"\n" in before:
            line, before = before.split(b"\n", 1)
            self.lines.append(("out", line.rstrip(b"\r").decode("utf-8", "replace")))
        if before.strip(b"\r"):
            self.lines.append(("out", before.rstrip(b"\r").decode("utf-8", "replace")))
        self.out_buf = self.out_buf[m.end():]
        return m

    def write(self, data):
        os.write(self.master, data)

    def close(self):
        try:
            if self.proc.poll() is None:
                self.write(b"\x04")  # Ctrl-D: JLine's readLine returns null, zkCli exits
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGTERM)
                    self.proc.wait(timeout=10)
        finally:
            try:
                os.close(self.master)
            except OSError:
                pass


def read_cmds(path):
    cmds = []
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n").rstrip("\r")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            cmds.append(line)
    return cmds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--cmds", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--zkcli", default="/usr/share/zookeeper/bin/zkCli.sh")
    ap.add_argument("--quiet", type=float, default=0.6,
                    help="seconds of silence after a prompt before the next command")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--err", help="also write the stderr-only lines here, in the .out format")
    args = ap.parse_args()

    name = os.path.basename(args.cmds)
    cmds = read_cmds(args.cmds)
    s = Session(args.zkcli, args.server, args.timeout)
    problems = 0
    try:
        # Banner, first prompt, and the connection's SyncConnected event: all discarded.
        if not s.wait_for(lambda: PROMPT.search(s.out_buf), args.timeout):
            raise SystemExit(f"{name}: no zkCli prompt; got {s.out_buf!r} {s.lines!r}")
        s.wait_for(lambda: b"state:SyncConnected" in s.out_buf, args.timeout)
        s.settle(args.quiet)
        s.take_prompt()
        s.out_buf = b""
        s.lines = []

        transcript = []
        for cmd in cmds:
            s.lines = []
            s.write(cmd.encode("utf-8") + b"\n")
            # JLine echoes the typed line followed by CR LF.
            if not s.wait_for(lambda: b"\n" in s.out_buf, args.timeout):
                raise SystemExit(f"{name}: no echo for {cmd!r}: {s.out_buf!r}")
            echo, s.out_buf = s.out_buf.split(b"\n", 1)
            echo = echo.rstrip(b"\r").decode("utf-8", "replace")
            if echo != cmd:
                log(f"{name}: WARNING echo {echo!r} differs from command {cmd!r}")
                problems += 1
            is_quit = cmd.split()[:1] == ["quit"]
            ended = False
            if not s.wait_for(lambda: PROMPT.search(s.out_buf) or s.out_eof, args.timeout):
                raise SystemExit(f"{name}: no prompt after {cmd!r}: {s.out_buf!r}")
            if not PROMPT.search(s.out_buf):
                # zkCli exited: `quit`, or an uncaught exception (e.g. NumberFormatException
                # for `set -v abc /x y`) that kills the JVM.  Keep everything it printed.
                ended = True
                s.wait_for(lambda: s.err_eof, args.timeout)
                if not is_quit:
                    log(f"{name}: zkCli exited after {cmd!r}")
            else:
                s.take_prompt()
                n_at_prompt = len(s.lines)
                s.settle(args.quiet)
                s._flush_out_lines()
                if PROMPT.search(s.out_buf):
                    raise SystemExit(f"{name}: unexpected second prompt after {cmd!r}")
                late = [l for l in s.lines[n_at_prompt:] if l[0] == "out"]
                if late:
                    log(f"{name}: note: {len(late)} stdout line(s) after the prompt for {cmd!r}")
            # leftover partial output (no newline) – keep it as a line
            s._flush_out_lines()
            if s.out_buf.strip(b"\r\n"):
                s.lines.append(("out", s.out_buf.rstrip(b"\r\n").decode("utf-8", "replace")))
            s.out_buf = b""
            if s.err_partial.strip():
                s.lines.append(("err", s.err_partial.rstrip(b"\r\n").decode("utf-8", "replace")))
                s.err_partial = b""
            transcript.append((cmd, list(s.lines)))
            if ended:
                break
    finally:
        s.close()

    with open(args.out, "w", encoding="utf-8") as f:
        for cmd, lines in transcript:
            f.write(f">>> {cmd}\n")
            for _stream, text in lines:
                f.write(text + "\n")
    if args.err:
        with open(args.err, "w", encoding="utf-8") as f:
            for cmd, lines in transcript:
                f.write(f">>> {cmd}\n")
                for stream, text in lines:
                    if stream == "err":
                        f.write(text + "\n")
    sent = len(transcript)
    if sent != len(cmds):
        log(f"{name}: zkCli had exited; {len(cmds) - sent} later command(s) not sent")
    log(f"{name}: {sent} command(s) recorded -> {args.out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
