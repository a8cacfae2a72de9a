# scantriage — see README.md. `make run` and `make test` are the quick start.
CARGO ?= cargo
OUT ?= out/scans

.PHONY: run test samples bench clippy

## Simulate a set of scans with ground truth into $(OUT).
run:
	$(CARGO) run --release -- simulate --out $(OUT) --count 20 --seed 1
	@echo "Scans written to $(OUT)/ (one folder per scan: high.png, low.png, meta.json, truth.json, labels.png)"

## Every test: unit, integration, and the benches once each in test mode.
test:
	$(CARGO) test --all-targets

## Regenerate the committed samples and their previews (see samples/README.md).
samples:
	./samples/generate.sh

## Criterion benches; results in target/criterion, figures in docs/benchmarks.md.
bench:
	$(CARGO) bench

clippy:
	$(CARGO) clippy --all-targets -- -D warnings
