# The two commands of the README: `make demo` and `make test` (and `make test-fast`).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo examples test test-fast lint typecheck docs bench faults faults-long clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench,postgres]'
	touch $(STAMP)

# A seeded day of wallet, COD and loan activity in satang-demo.db, its reports, verify.
demo: $(STAMP)
	$(BIN)/satang demo --db satang-demo.db --overwrite

examples: $(STAMP)
	@for script in examples/[0-9]*.py; do \
		echo "== $$script"; \
		$(BIN)/python $$script || exit 1; \
	done

lint: $(STAMP)
	$(BIN)/ruff check src tests examples docs/_hooks
	$(BIN)/ruff format --check src tests examples docs/_hooks

typecheck: $(STAMP)
	$(BIN)/mypy --strict src/

# The site from docs/ and the docstrings (mkdocs.yml): strict, so a broken link fails.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --quiet

# Two pytest workers, one per core: the fault suite's long waits overlap the rest.
test: lint typecheck docs
	$(BIN)/pytest -q -n 2

# The inner loop: every test not marked `slow` (the fault suite, the long stateful machines,
# the multi-process races), no lint, typecheck or docs. `make test` is what CI runs.
test-fast: $(STAMP)
	$(BIN)/pytest -q -n 2 -m "not slow"

bench: $(STAMP)
	$(BIN)/satang bench

# The fault suite (tests/faults, also part of `make test`) and its table of figures for
# docs/reliability.md; faults-long runs every test's long count of rounds (hours).
faults: $(STAMP)
	$(BIN)/python -m tests.faults.report

faults-long: $(STAMP)
	SATANG_FAULT_LONG=1 $(BIN)/python -m tests.faults.report  # or: pytest --long tests/faults

clean:
	rm -rf $(VENV) build site src/*.egg-info .pytest_cache .mypy_cache .ruff_cache satang-demo.db*
