# The origin tutorial's counter, exactly as it was written. It cannot work: the lambda
# captures `counter`, which is bound to a started KazooClient, and a client holds thread
# locks that pickle cannot serialize, so PySpark fails before any task runs. (kazoo's
# Counter has no incr() either: it counts with `counter += 1`.)
from pyspark import SparkConf, SparkContext
from kazoo.client import KazooClient

# 创建SparkContext
conf = SparkConf().setAppName("ZookeeperExample").setMaster("local")
sc = SparkContext(conf=conf)

# 创建Zookeeper客户端
zk = KazooClient(hosts="localhost:2181")
zk.start()

# 创建一个分布式计数器
counter = zk.Counter("/my_counter")

# 使用Spark的map操作来增加计数器的值
data = sc.parallelize(range(100))
data.map(lambda x: counter.incr()).count()

# 打印计数器的值
print(counter.value)
