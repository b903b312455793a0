# Hazard: when a session ends, its ephemeral znodes vanish and its client is dead for good.
# Here A closes its session explicitly (stop()), which removes its ephemerals at once; a session
# that expires after a partition does the same after the session timeout. In the page,
# partition a client from the ensemble and watch its ephemeral node go when its session expires.
import time

from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionClosedError, SessionExpiredError

a = KazooClient(hosts="127.0.0.1:2181")
a.start()
b = KazooClient(hosts="127.0.0.1:2181")
b.start()
b.delete("/hazard", recursive=True)
a.create("/hazard/alive/a", b"A is here", ephemeral=True, makepath=True)
events = []
b.DataWatch("/hazard/alive/a", lambda data, stat, event: events.append((data, event and event.type)))
stat = b.exists("/hazard/alive/a")
print("B sees A's node:", stat is not None, "- owned by A's session:", stat.ephemeralOwner == a.client_id[0])

a.stop()  # the session ends: the server deletes A's ephemerals before it answers
time.sleep(0.5)  # B's watch fires meanwhile
print("B sees A's node now:", b.exists("/hazard/alive/a") is not None, "- B's watch saw:", events)
print("A's state:", a.state)
try:
    a.get("/hazard/alive/a")
except ConnectionClosedError as e:
    print("A's next call:", type(e).__name__, "-", e, "- a SessionExpiredError:", isinstance(e, SessionExpiredError))
b.stop()
