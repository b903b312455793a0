# A task that always fails: record 4242 cannot be parsed. Spark retries the task
# (spark.task.maxFailures = 4 attempts) and then aborts the job; the driver gets
# Py4JJavaError, whose message carries the task's Python traceback.
from pyspark import SparkContext

sc = SparkContext(appName="task_failure")
records = sc.parallelize([str(i) for i in range(10000)] , 8)

def parse(s):
    if s == "4242":
        raise ValueError(f"bad record: {s!r}")
    return int(s)

print("first records:", records.map(parse).take(3))
try:
    print(records.map(parse).sum())
except Exception as e:
    print("the job failed:", type(e).__name__)
    print([line for line in str(e).splitlines() if line.startswith("ValueError")][0])
sc.stop()
