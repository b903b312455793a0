# The two commands a newcomer needs. Both install whatever is missing first (scripts/setup.sh).
.PHONY: serve test setup bench

serve:  ## set everything up, build the page and serve it on http://127.0.0.1:8080/
	./scripts/serve.sh

test:   ## set everything up and run every test layer (native, browser, end to end)
	./scripts/test.sh

setup:  ## only install the tools
	./scripts/setup.sh

bench:  ## simulation throughput (seeds per second) and the Spark word count benchmark
	cargo run --profile speed --bin zkspark -- bench
	cargo run --profile speed --bin zkspark -- bench-spark
