# Two commands on a fresh machine: `make demo` and `make test`. Each bootstraps .venv itself.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export GX_ANALYTICS_ENABLED := False
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

.PHONY: demo test test-slow bench lock clean venv

venv: $(STAMP)

# Re-installs when the lock or the project metadata changes.
$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH (or: make PYTHON=/path/to/python3.11)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3" "setuptools==80.9.0" "wheel==0.45.1"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/chatkpi demo

# Two test workers (pytest-xdist): the machines have two cores; TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

# The load tests of many minutes (marker `slow`: 10,000 mails extracted and loaded in one batch).
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

# --install-refs: the reference libraries (whatstk, businesstimedelta; pinned) go into their
# own .venv-bench/, never into .venv, so the table always carries the ratios.
bench: $(STAMP)
	$(BIN)/python bench/run.py --install-refs

# Refresh requirements.lock from a clean resolve of pyproject.toml (needs the package registry).
lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/pip install --quiet ".[test]"
	( echo "# Exact versions of every package, direct and transitive, installed together on Python 3.11."; \
	  echo "# Regenerate after changing pyproject.toml: make lock"; \
	  .lockvenv/bin/pip freeze --exclude chatkpi ) > requirements.lock
	rm -rf .lockvenv

clean:
	rm -rf $(VENV) warehouse lake reports .pytest_cache .hypothesis
