# Hazard: a kazoo Counter can count one increment twice. `counter += 1` reads the value and its
# version, then sets value+1 at that version; if the set succeeds on the server but its reply is
# lost (ConnectionLoss), kazoo's retry reads again, sees the new value and adds 1 once more.
# Run as is, it prints 1. Lose that reply (a planned CLI flag: `--drop-reply setData@1`) and it
# prints 2: the retry cannot tell "not applied" from "applied, answer lost". The fix is an
# idempotent write, as in the zk_counter_idempotent preset.
from kazoo.client import KazooClient

zk = KazooClient(hosts="127.0.0.1:2181")
zk.start()
zk.delete("/hazard/counter", recursive=True)
counter = zk.Counter("/hazard/counter")
print("before:", counter.value)
counter += 1  # one get, then one set(version=...); retried from the get on ConnectionLoss
data, stat = zk.get("/hazard/counter")
print("after one increment:", counter.value, "- sets applied (znode version):", stat.version)
zk.stop()
