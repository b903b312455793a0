# A job with three stages: numbers keyed by residue (shuffle 1), summed, re-keyed by parity
# (shuffle 2) and grouped. Kill an executor while it runs: lost tasks re-run, and lost
# shuffle output makes the next stage fail to fetch and its parent stage run again.
from pyspark import SparkContext

sc = SparkContext(appName="stages")
nums = sc.parallelize(range(1, 2001), 8)
by_residue = nums.map(lambda x: (x % 10, x)).reduceByKey(lambda a, b: a + b, 4)
by_parity = by_residue.map(lambda kv: (kv[0] % 2, kv[1])).groupByKey(2)
result = by_parity.mapValues(lambda vs: sorted(vs)).sortByKey()
for parity, sums in result.collect():
    print("even" if parity == 0 else "odd", sums)
print("total:", nums.sum(), "=", by_residue.values().sum())
sc.stop()
