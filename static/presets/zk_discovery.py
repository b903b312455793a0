# Service discovery: each task registers its executor as an ephemeral sequential znode
# /services/workers/worker-NNNNNNNNNN (data: its partition) and leaves its client open, so the
# registration lives exactly as long as that session. The driver then lists who is registered.
# Try it in the page: kill an executor while the job runs; its tasks run again and register
# again, and the dead executor's nodes leave the tree once its session times out.
from pyspark import SparkConf, SparkContext
from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError

sc = SparkContext(conf=SparkConf().setAppName("zk-discovery"))
zk = KazooClient(hosts="127.0.0.1:2181")
zk.start()
zk.delete("/services/workers", recursive=True)
zk.ensure_path("/services/workers")


def register(index, records):
    client = KazooClient(hosts="127.0.0.1:2181")
    client.start()  # no stop(): the node stays while this session lives
    client.create("/services/workers/worker-", str(index).encode(), ephemeral=True, sequence=True)
    return [index]


print("tasks:", sorted(sc.parallelize(range(8), 4).mapPartitionsWithIndex(register).collect()))
names = zk.get_children("/services/workers")
print("workers:", len(names), "sequence numbers:", sorted(int(name[-10:]) for name in names))
found = []
for name in names:
    try:
        data, stat = zk.get("/services/workers/" + name)
    except NoNodeError:
        continue  # its session expired meanwhile (after a killed executor)
    found.append((data.decode(), name[:-10] + "N" * 10, stat.ephemeralOwner))
for partition, name, owner in sorted(found):  # partition order: tasks race for the numbers
    print(" ", name, "partition", partition, "ephemeral:", owner != 0)
owners = set(owner for partition, name, owner in found)
print("distinct sessions:", len(owners), "- the driver's among them:", zk.client_id[0] in owners)
zk.stop()
sc.stop()
