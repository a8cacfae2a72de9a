# scantriage — see README.md. `make run` and `make test` are the quick start.
CARGO ?= cargo
DATA ?= data

.PHONY: run test samples bench baseline clippy models ort

## The service on the embedded defaults: SQLite and images in $(DATA)/, the committed models,
## http://127.0.0.1:8080 (see README.md for keys, accounts and uploads).
run: ort
	$(CARGO) run --release -- serve --data-dir $(DATA)

## Every test: unit, integration, and the benches once each in test mode. The storage tests
## also run against a throwaway PostgreSQL server, the console's test in headless Chromium
## (both installed from Debian's packages if missing), the training code's tests in a venv
## with numpy and Pillow (no torch: CI never trains).
test: ort
	./scripts/with-postgres.sh $(CARGO) test --all-targets
	./scripts/training-tests.sh
	SCANTRIAGE_BIN=target/debug/scantriage ./scripts/browser-test.sh

## Regenerate the committed samples and their previews (see samples/README.md).
samples:
	./samples/generate.sh

## Criterion benches (target/criterion), then scantriage and the Python baseline under the
## load generator (target/bench-load/report.md); figures in docs/benchmarks.md.
bench: baseline
	$(CARGO) bench
	./scripts/bench-load.sh

## The Python baseline of the load benchmark: its venv, then proof that it does the same work
## as the engine (benches/baseline/README.md).
baseline: ort
	$(CARGO) build --release
	benches/baseline/setup.sh
	benches/baseline/.venv/bin/python benches/baseline/check_parity.py

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

## The ONNX Runtime library the inference engine loads, into .cache/onnxruntime/ (idempotent).
ort:
	./scripts/fetch-onnxruntime.sh

## Train the goods classifier and the anomaly model: venv, simulated data, training, ONNX
## export with parity checks, models/manifest.toml (see training/README.md).
PYTHON ?= python3
VENV := training/.venv

models: $(VENV)/.installed
	$(CARGO) build --release
	nice -n 10 $(VENV)/bin/python -m training.run_all

$(VENV)/.installed: training/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r training/requirements.txt
	touch $@
