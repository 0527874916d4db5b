# Entry points: tests, demo and the perf suite (docs/PERFORMANCE.md).
PY ?= .venv/bin/python
BENCH_OUT ?=
BENCH_ARGS ?=
export OMP_THREAD_LIMIT ?= 1

.PHONY: test demo bench bench-quick

test:
	bash scripts/test.sh

demo:
	bash scripts/demo.sh

# full sizes: 200-document burst, 50/200/500-page scans, 10,000 known documents (about an hour on 2 cores)
bench:
	$(PY) -m doc_pipeline_tests.bench $(if $(BENCH_OUT),--out $(BENCH_OUT)) $(BENCH_ARGS)

# every size shrunk: a few minutes
bench-quick:
	$(PY) -m doc_pipeline_tests.bench --quick $(if $(BENCH_OUT),--out $(BENCH_OUT)) $(BENCH_ARGS)
