# Word count: read a text file in 8 partitions, split lines into words, count each word
# with reduceByKey (a shuffle: two stages), then print the most frequent words.
from operator import add

from pyspark import SparkConf, SparkContext

sc = SparkContext(conf=SparkConf().setAppName("wordcount"))
lines = sc.textFile("data/words.txt", 8)
words = lines.flatMap(lambda line: line.split())
counts = words.map(lambda w: (w, 1)).reduceByKey(add)
print("partitions:", lines.getNumPartitions(), "->", counts.getNumPartitions())
top = counts.sortBy(lambda kv: (-kv[1], kv[0])).take(8)
for word, n in top:
    print(f"{word:>12} {n}")
print("distinct words:", counts.count(), "total:", words.count())
sc.stop()
