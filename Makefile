# Lifecycle Relay. `make test` is what CI runs (.ci/run); it needs only the Rust toolchain and
# Python 3: every other tool is installed here, pinned, into the project-local .venv.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VENV_STAMP := $(VENV)/.installed
CARGO ?= cargo

.PHONY: help venv infra-venv test fmt-check clippy unit build infra-check sandbox demo chaos fuzz bench clean-venv

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV_STAMP): tools/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-input -r tools/requirements.txt
	touch $@

venv: $(VENV_STAMP) ## Install the pinned Python tools (moto[server], cargo-lambda, zig) into .venv

# The template checkers live in a venv of their own inside .venv: checkov pins boto3 and
# pydantic versions that moto and aws-sam-translator cannot share.
INFRA_VENV := $(VENV)/infra
INFRA_STAMP := $(INFRA_VENV)/.installed

$(INFRA_STAMP): tools/infra-requirements.txt
	$(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install --quiet --disable-pip-version-check --no-input -r tools/infra-requirements.txt
	touch $@

infra-venv: $(INFRA_STAMP) ## Install the pinned template checkers (cfn-lint, aws-sam-translator, checkov)

# build first: the zip test (tests/tests/lambda_zips/) starts the built bootstraps.
test: venv fmt-check clippy build infra-check unit ## Format check, clippy, Lambda zips, template checks, every test

fmt-check:
	$(CARGO) fmt --all --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# The last line is a plain total ("N passed, N failed") summed over every test binary.
unit: venv
	@mkdir -p target
	$(CARGO) test --workspace --locked 2>&1 | tee target/test-output.log
	@awk '/^test result:/ { passed += $$4; failed += $$6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' target/test-output.log

# Lambda zips (target/lambda/<function>/bootstrap.zip) with cargo-lambda and its zig, for
# LAMBDA_ARCH (x86_64 or arm64; arm64 needs the aarch64-unknown-linux-gnu Rust target).
LAMBDA_FUNCTIONS := crm-signup export-callback sync-worker deletion-worker
LAMBDA_ARCH ?= x86_64
LAMBDA_ARCH_FLAG := $(if $(filter arm64,$(LAMBDA_ARCH)),--arm64,--x86-64)

build: venv ## Every function as a Lambda zip (release), with their sizes
	PATH="$(abspath $(VENV))/bin:$$PATH" $(CARGO) lambda build --release --locked --output-format zip \
		$(LAMBDA_ARCH_FLAG) $(addprefix -p ,$(LAMBDA_FUNCTIONS))
	@for f in $(LAMBDA_FUNCTIONS); do \
		printf '%-16s %s bytes\n' "$$f" "$$(stat -c %s target/lambda/$$f/bootstrap.zip)"; done

# cfn-lint on the template and on its offline SAM expansion (cfn-lint alone misses errors
# inside AWS::Serverless resources), with the project's rules (infra/checks/rules); the rate
# budgets; checkov on both. INFRA_TEMPLATE and INFRA_OUT let the tests check a copy.
INFRA_TEMPLATE ?= infra/template.yaml
INFRA_SAMCONFIG ?= infra/samconfig.toml
INFRA_OUT ?= target/infra
CHECKOV := $(INFRA_VENV)/bin/checkov --framework cloudformation --compact --quiet --skip-download

infra-check: infra-venv ## cfn-lint (template + SAM expansion), rate budgets, checkov
	@mkdir -p $(INFRA_OUT)
	$(INFRA_VENV)/bin/python infra/checks/expand.py $(INFRA_TEMPLATE) $(INFRA_OUT)/expanded.json
	$(INFRA_VENV)/bin/cfn-lint --append-rules infra/checks/rules -- $(INFRA_TEMPLATE) $(INFRA_OUT)/expanded.json
	$(INFRA_VENV)/bin/python infra/checks/rate_budget.py $(INFRA_TEMPLATE) $(INFRA_SAMCONFIG)
	$(CHECKOV) -f $(INFRA_TEMPLATE)
	$(CHECKOV) -f $(INFRA_OUT)/expanded.json
	@echo "infra-check: $(INFRA_TEMPLATE) passed"

sandbox: ## Run the Braze + Userflow sandbox (prints its URLs and keys as one JSON line)
	$(CARGO) run --quiet --locked -p sandbox

demo: venv ## The main job end to end on the local stack (relay local + the sandbox), with a report
	$(CARGO) run --quiet --locked -p relay -- demo $(DEMO_ARGS)

# The fault matrix at full scale (about a minute per cell); `make test` runs its seeded short
# version (cli/tests/chaos.rs). CHAOS_ARGS passes options through, e.g. CHAOS_ARGS="--cell moto-stopped".
CHAOS_OUT ?= chaos-results/chaos.md
CHAOS_ARGS ?=

chaos: venv ## The fault matrix end to end on the local stack, with its reconciliation report (writes chaos-results/chaos.md)
	$(CARGO) run --quiet --locked -p relay -- chaos --scale full --out $(CHAOS_OUT) $(CHAOS_ARGS)

# Fuzzing (nightly; not part of `make test`, which replays every seed and mutations of them on
# stable: tests/fuzz-targets/tests/replay.rs). cargo-fuzz is pinned into .venv/cargo; each
# target runs FUZZ_SECONDS from its committed seeds (fuzz/seeds/<target>), copied into the
# git-ignored working corpus (fuzz/corpus/<target>). A crash stops the run; its input is
# under fuzz/artifacts/<target>/.
CARGO_FUZZ_VERSION := 0.13.2
CARGO_FUZZ := $(VENV)/cargo/bin/cargo-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TOOLCHAIN ?= nightly
FUZZ_TARGETS ?= $(basename $(notdir $(wildcard fuzz/fuzz_targets/*.rs)))

$(CARGO_FUZZ):
	$(CARGO) install --locked --root $(VENV)/cargo cargo-fuzz --version $(CARGO_FUZZ_VERSION)

fuzz: $(CARGO_FUZZ) ## Fuzz every target for FUZZ_SECONDS each (nightly; FUZZ_TARGETS picks some)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/corpus/$$t && cp fuzz/seeds/$$t/* fuzz/corpus/$$t/; \
		(cd fuzz && PATH="$(abspath $(VENV))/cargo/bin:$$PATH" CARGO_TARGET_DIR=target \
			$(CARGO) +$(FUZZ_TOOLCHAIN) fuzz run $$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS)) || exit 1; \
	done

# Benchmarks are not tests: `make test` never runs them. BENCH_ARGS passes options through,
# e.g. make bench BENCH_ARGS="--runs 50" (relay-bench --help lists them).
BENCH_OUT ?= bench-results/bench.md
BENCH_ARGS ?=

bench: venv build ## Benchmarks: cold start, latency, Lambda zips, export reader, worker memory, export end to end, erasure, load (20,000 signups, Braze rate, soak) (writes bench-results/bench.md and SVGs)
	$(CARGO) build --release --locked -p crm-signup -p hello-world -p relay
	$(CARGO) run --release --locked -p relay-bench -- --out $(BENCH_OUT) $(BENCH_ARGS)

clean-venv: ## Remove the Python tools (both venvs)
	rm -rf $(VENV)
