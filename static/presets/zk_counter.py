# The seed's counter as a real deployment writes it: a KazooClient cannot travel inside a
# closure, so each partition opens its own session on its executor and counts its records
# with kazoo's Counter (a read, then a set at the version read, retried on conflict).
# Kill an executor while the job runs: its tasks run again and count again (at-least-once).
from pyspark import SparkConf, SparkContext
from kazoo.client import KazooClient

sc = SparkContext(conf=SparkConf().setAppName("zk-counter"))
zk = KazooClient(hosts="127.0.0.1:2181")
zk.start()
zk.delete("/my_counter", recursive=True)  # start from zero on every run
counter = zk.Counter("/my_counter")


def increment_all(records):
    client = KazooClient(hosts="127.0.0.1:2181")
    client.start()
    shared = client.Counter("/my_counter")
    for _ in records:
        shared += 1
    client.stop()


sc.parallelize(range(100), 4).foreachPartition(increment_all)
print(counter.value)
zk.stop()
sc.stop()
