# Configuration management: the driver writes /app/config, every task watches it with a kazoo
# DataWatch and re-reads the watched value before each round of its work. Partition 0 plays
# the operator and raises the batch size after its first round; the others pick the change up
# from their watch (callbacks run while a task sleeps). Try it in the page: while the job runs,
# type `set /app/config batch_size=50` in zkCli and watch the executors switch.
import time

from pyspark import SparkConf, SparkContext
from kazoo.client import KazooClient

sc = SparkContext(conf=SparkConf().setAppName("zk-config"))
zk = KazooClient(hosts="127.0.0.1:2181")
zk.start()
zk.delete("/app", recursive=True)
zk.create("/app/config", b"batch_size=10", makepath=True)


def process(index, records):
    client = KazooClient(hosts="127.0.0.1:2181")
    client.start()
    config = {}

    @client.DataWatch("/app/config")
    def on_config(data, stat):
        config["value"], config["version"] = data.decode(), stat.version  # the latest config

    todo, done = list(records), 0
    for round_no in range(4):
        size = int(config["value"].split("=")[1])  # read the watched value, no server call
        batch, todo = todo[:size], todo[size:]
        done += len(batch)  # "process" one batch
        if index == 0 and round_no == 0:
            client.set("/app/config", b"batch_size=20")  # the operator's change
        time.sleep(0.5)  # watch callbacks arrive while the task waits
    client.stop()
    return [(index, done, config["value"], config["version"])]


rows = sc.parallelize(range(100), 4).mapPartitionsWithIndex(process).collect()
for index, done, value, version in sorted(rows):
    print(f"task {index}: {done} records, ended with {value} (config version {version})")
print("config:", zk.get("/app/config")[0].decode())
zk.stop()
sc.stop()
