# scantriage — see README.md. `make run` and `make test` are the quick start.
CARGO ?= cargo
OUT ?= out/scans

.PHONY: run test samples bench clippy models ort

## Simulate a set of scans with ground truth into $(OUT).
run: ort
	$(CARGO) run --release -- simulate --out $(OUT) --count 20 --seed 1
	@echo "Scans written to $(OUT)/ (one folder per scan: high.png, low.png, meta.json, truth.json, labels.png)"

## Every test: unit, integration, and the benches once each in test mode. The storage tests
## also run against a throwaway PostgreSQL server (installed from Debian's packages if missing).
test: ort
	./scripts/with-postgres.sh $(CARGO) test --all-targets

## Regenerate the committed samples and their previews (see samples/README.md).
samples:
	./samples/generate.sh

## Criterion benches; results in target/criterion, figures in docs/benchmarks.md.
bench:
	$(CARGO) bench

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
