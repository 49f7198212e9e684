# Lifecycle Relay. `make test` is what CI runs (.ci/run); it needs only the Rust toolchain and
# Python 3: every other tool is installed here, pinned, into the project-local .venv.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VENV_STAMP := $(VENV)/.installed
CARGO ?= cargo

.PHONY: help venv test fmt-check clippy unit sandbox demo bench clean-venv

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV_STAMP): tools/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-input -r tools/requirements.txt
	touch $@

venv: $(VENV_STAMP) ## Install the pinned Python tools (moto[server]) into .venv

test: venv fmt-check clippy unit ## Format check, clippy -D warnings, every test

fmt-check:
	$(CARGO) fmt --all --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# The last line is a plain total ("N passed, N failed") summed over every test binary.
unit: venv
	@mkdir -p target
	$(CARGO) test --workspace --locked 2>&1 | tee target/test-output.log
	@awk '/^test result:/ { passed += $$4; failed += $$6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' target/test-output.log

sandbox: ## Run the Braze + Userflow sandbox (prints its URLs and keys as one JSON line)
	$(CARGO) run --quiet --locked -p sandbox

demo: venv ## The main job end to end on the local stack (relay local + the sandbox), with a report
	$(CARGO) run --quiet --locked -p relay -- demo $(DEMO_ARGS)

# Benchmarks are not tests: `make test` never runs them. BENCH_ARGS passes options through,
# e.g. make bench BENCH_ARGS="--runs 50" (relay-bench --help lists them).
BENCH_OUT ?= bench-results/bench.md
BENCH_ARGS ?=

bench: venv ## Benchmarks: cold start, handler latency, export reader, worker memory, export end to end (writes bench-results/bench.md)
	$(CARGO) build --release --locked -p crm-signup -p hello-world
	$(CARGO) run --release --locked -p relay-bench -- --out $(BENCH_OUT) $(BENCH_ARGS)

clean-venv: ## Remove the Python tools
	rm -rf $(VENV)
