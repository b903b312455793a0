# Caching: the squares are computed once and kept on the executors (cached blocks), so the
# second and third actions read them instead of recomputing. Kill an executor and its cached
# blocks are gone: the next action recomputes those partitions from lineage.
from pyspark import SparkContext

sc = SparkContext(appName="cache")
squares = sc.parallelize(range(1, 10001), 8).map(lambda x: x * x).cache()
print("count:", squares.count())
print("sum:", squares.sum())
print("max:", squares.max(), "min:", squares.min())
evens = squares.filter(lambda x: x % 2 == 0)
print("even squares:", evens.count(), evens.take(5))
sc.stop()
