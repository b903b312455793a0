# The counter made idempotent: each partition adds its count in one transaction that also
# creates a marker named after the partition. A re-run of that partition (after a lost
# executor, or a lost reply) finds its marker already there and adds nothing, so the total
# is exactly 100 however many tasks are killed.
from pyspark import SparkConf, SparkContext
from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, NodeExistsError

sc = SparkContext(conf=SparkConf().setAppName("zk-counter-idempotent"))
zk = KazooClient(hosts="127.0.0.1:2181")
zk.start()
zk.delete("/my_counter", recursive=True)
zk.delete("/my_counter_parts", recursive=True)
zk.ensure_path("/my_counter_parts")
counter = zk.Counter("/my_counter")
counter.value  # creates /my_counter


def add_partition(index, records):
    n = sum(1 for _ in records)
    client = KazooClient(hosts="127.0.0.1:2181")
    client.start()
    while True:
        data, stat = client.get("/my_counter")
        t = client.transaction()
        t.create(f"/my_counter_parts/part-{index:05d}", str(n).encode())
        t.set_data("/my_counter", str(int(data.decode() or "0") + n).encode(), version=stat.version)
        results = t.commit()
        if isinstance(results[0], NodeExistsError):
            break  # an earlier attempt of this partition already counted it
        if isinstance(results[1], BadVersionError):
            continue  # another partition counted first: read again
        break
    client.stop()
    return [n]


counted = sc.parallelize(range(100), 4).mapPartitionsWithIndex(add_partition).collect()
print("partitions counted:", sorted(zk.get_children("/my_counter_parts")))
print(counter.value)
zk.stop()
sc.stop()
