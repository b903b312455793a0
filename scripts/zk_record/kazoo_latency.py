#!/usr/bin/env python3
"""Rough latency of kazoo's synchronous create/get/set against a ZooKeeper on 127.0.0.1:2181.

Not a fixture (timings vary); run by hand against a running server, with the recorder's venv:
    target/pyspark-venv/bin/python scripts/zk_record/kazoo_latency.py [N]
Prints the median and the 90th percentile in ms over N (default 500) calls of each.
"""
import statistics
import sys
import time

from kazoo.client import KazooClient

n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
zk = KazooClient(hosts="127.0.0.1:2181")
t0 = time.perf_counter()
zk.start()
print("start (connect + session): %.1f ms" % ((time.perf_counter() - t0) * 1000))
zk.ensure_path("/latency")
for name, op in [("create", lambda i: zk.create("/latency/n%d" % i, b"x")),
                 ("get", lambda i: zk.get("/latency/n%d" % i)),
                 ("set", lambda i: zk.set("/latency/n%d" % i, b"y")),
                 ("exists", lambda i: zk.exists("/latency/n%d" % i))]:
    times = []
    for i in range(n):
        t = time.perf_counter()
        op(i)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print("%-6s median %.3f ms  p90 %.3f ms  (n=%d)" % (name, statistics.median(times), times[int(n * 0.9)], n))
zk.delete("/latency", recursive=True)
zk.stop()
