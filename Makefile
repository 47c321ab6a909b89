# kai — one entry point per task; CI runs `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := app agent evals sandbox tools

.PHONY: install lint typecheck imports test eval baseline bench chat clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]' --config-settings editable_mode=compat
	touch $@

lint: install
	$(BIN)/ruff check $(PACKAGES) scripts tests benchmarks

typecheck: install
	$(BIN)/mypy $(PACKAGES) scripts

imports: install
	$(BIN)/lint-imports

test: install lint typecheck imports
	$(BIN)/pytest
	$(BIN)/kai eval --jobs 2 --out build/eval --baseline evals/baseline

# The whole eval dataset with the offline provider: results.jsonl, summary.md and report.html in build/eval.
eval: install
	$(BIN)/kai eval --jobs 2 --out build/eval

# A new baseline for the gate in `make test` (commit evals/baseline/ with the change that earned it).
baseline: install
	$(BIN)/kai eval --jobs 2 --out evals/baseline

bench: install
	$(BIN)/python -m benchmarks.sandbox_api --out benchmarks/results/sandbox_api.json
	$(BIN)/python -m benchmarks.workloads --out benchmarks/results/workloads.json
	$(BIN)/python -m benchmarks.audit --out benchmarks/results/audit.json
	$(BIN)/python -m benchmarks.guard --out benchmarks/results/guard.json
	$(BIN)/python -m benchmarks.offline_planner --out benchmarks/results/offline_planner.json
	$(BIN)/python -m benchmarks.cli --out benchmarks/results/cli.json
	$(BIN)/python -m benchmarks.serve_load --out benchmarks/results/serve_load.json
	$(BIN)/python -m benchmarks.evals --out benchmarks/results/evals.json

# The REPL on kai's sandbox with the todo stack installed by Helm (offline provider unless a key is set).
# The sandbox keeps running afterwards: `.venv/bin/kai sandbox down` stops it.
SANDBOX_STATE ?= .kai/sandbox
chat: install
	$(BIN)/kai sandbox up --state $(SANDBOX_STATE) --with-todo-app
	$(BIN)/kai --kubeconfig $(SANDBOX_STATE)/kubeconfig --namespace todo-app

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
