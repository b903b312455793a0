# Hazard: split brain. A lock holder that stalls (a long GC pause, a partition) loses its session
# and with it the lock, but does not know it: it still acts as the leader and its write
# clobbers the new leader's. The fix is fencing: write at the znode version you read when you
# took the lock, so a stale leader's write fails with BadVersionError instead.
from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError

a = KazooClient(hosts="127.0.0.1:2181")
a.start()
b = KazooClient(hosts="127.0.0.1:2181")
b.start()
a.delete("/hazard", recursive=True)
a.create("/hazard/resource", b"initial", makepath=True)
lock_a = a.Lock("/hazard/leader", "A")
print("A takes the lock:", lock_a.acquire(blocking=False))
token = a.get("/hazard/resource")[1].version  # A's fencing token: the version it saw

# A stalls; its session expires and the server deletes its lock node (done by hand here).
b.delete("/hazard/leader/" + lock_a.node)
lock_b = b.Lock("/hazard/leader", "B")
print("B takes the lock:", lock_b.acquire(blocking=False), "- A still believes it holds it:", lock_a.is_acquired)
b.set("/hazard/resource", b"written by B", version=b.get("/hazard/resource")[1].version)

a.set("/hazard/resource", b"written by A")  # unfenced: succeeds and overwrites B's write
print("unfenced write by the stale A:", a.get("/hazard/resource")[0])
try:
    a.set("/hazard/resource", b"written by A", version=token)  # fenced with A's token
    print("fenced write by the stale A: accepted")
except BadVersionError:
    print("fenced write by the stale A: BadVersionError, refused")
lock_b.release()
a.stop()
b.stop()
