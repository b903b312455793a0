# Task scheduling with a distributed lock: every task takes the same kazoo Lock before it
# uses a shared resource (it claims /scheduler/holder, works for 0.2 s, gives it back).
# Waiting tasks queue as ephemeral sequential nodes under /scheduler/lock, each watching the
# one before it; the tree shows the queue. A killed holder's node goes when its session
# expires, and the next in line gets the lock.
import time

from pyspark import SparkConf, SparkContext
from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError

sc = SparkContext(conf=SparkConf().setAppName("zk-lock"))
zk = KazooClient(hosts="127.0.0.1:2181")
zk.start()
zk.delete("/scheduler", recursive=True)
zk.ensure_path("/scheduler/done")


def run_exclusively(index, records):
    client = KazooClient(hosts="127.0.0.1:2181")
    client.start()
    overlaps = 0
    with client.Lock("/scheduler/lock", f"task-{index}"):
        try:
            client.create("/scheduler/holder", f"task-{index}".encode(), ephemeral=True)
        except NodeExistsError:
            overlaps += 1  # someone else is inside: the lock would have failed
        total = sum(records)
        time.sleep(0.2)  # the work done while holding the lock
        try:
            client.create(f"/scheduler/done/task-{index:02d}", str(total).encode())
        except NodeExistsError:
            pass  # an earlier attempt of this task finished its work
        client.delete("/scheduler/holder")
    client.stop()
    return [overlaps]


overlaps = sc.parallelize(range(40), 8).mapPartitionsWithIndex(run_exclusively).collect()
print("tasks:", len(overlaps), "overlaps:", sum(overlaps))
print("done:", sorted(zk.get_children("/scheduler/done")))
zk.stop()
sc.stop()
