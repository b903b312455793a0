# Metadata management: a word count job describes the dataset it produced (location, size in
# records and bytes, format, schema) in ZooKeeper, one znode per field under
# /datasets/wordcount, written in one transaction so a reader sees all of it or none of it.
# Another session (any job that wants the dataset) reads it back. Open the tree to see the
# znodes, or `get /datasets/wordcount/schema` in zkCli.
import json
from operator import add

from pyspark import SparkConf, SparkContext
from kazoo.client import KazooClient

sc = SparkContext(conf=SparkConf().setAppName("zk-metadata"))
counts = sc.textFile("data/words.txt", 4).flatMap(lambda line: line.split()) \
    .map(lambda w: (w, 1)).reduceByKey(add)
rows = counts.map(lambda kv: f"{kv[0]}\t{kv[1]}\n")  # the dataset as tab-separated lines
meta = {
    "location": "hdfs:///datasets/wordcount",  # where saveAsTextFile would put it
    "records": str(rows.count()),
    "bytes": str(rows.map(len).sum()),
    "format": "tsv",
    "schema": json.dumps([{"name": "word", "type": "string"}, {"name": "count", "type": "long"}]),
}

zk = KazooClient(hosts="127.0.0.1:2181")
zk.start()
zk.delete("/datasets/wordcount", recursive=True)
zk.ensure_path("/datasets")
t = zk.transaction()
t.create("/datasets/wordcount", b"ready")
for field in sorted(meta):
    t.create("/datasets/wordcount/" + field, meta[field].encode())
print("written:", len(t.commit()), "znodes")

reader = KazooClient(hosts="127.0.0.1:2181")
reader.start()
for field in sorted(reader.get_children("/datasets/wordcount")):
    value = reader.get("/datasets/wordcount/" + field)[0].decode()
    print(f"{field:>8} = {value}")
schema = json.loads(reader.get("/datasets/wordcount/schema")[0])
print("columns:", [column["name"] for column in schema])
reader.stop()
zk.stop()
sc.stop()
