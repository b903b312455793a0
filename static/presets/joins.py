# Joins: people.csv keyed by department, joined with a small table of department floors.
# join, leftOuterJoin and cogroup shuffle both sides by key.
from pyspark import SparkContext

sc = SparkContext(appName="joins")
people = (sc.textFile("data/people.csv")
          .map(lambda line: line.split(","))
          .map(lambda f: (f[2], (f[1], int(f[3])))))
floors = sc.parallelize([("engineering", 3), ("sales", 1), ("legal", 2)])

for dept, ((name, salary), floor) in sorted(people.join(floors).collect()):
    print(f"{name:<6} {dept:<12} floor {floor}  salary {salary}")
print(sorted(people.leftOuterJoin(floors).map(lambda kv: (kv[0], kv[1][1])).distinct().collect()))
payroll = people.mapValues(lambda ns: ns[1]).reduceByKey(lambda a, b: a + b)
print("payroll:", sorted(payroll.collect()))
grouped = people.cogroup(floors).mapValues(lambda pf: (sorted(n for n, _ in pf[0]), list(pf[1])))
for dept, (names, fl) in sorted(grouped.collect()):
    print(dept, names, fl)
sc.stop()
