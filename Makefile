# Two commands on a fresh machine: `make run` (the whole system locally) and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test install lint clean

$(STAMP): pyproject.toml
	bash scripts/bootstrap.sh
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[local,dev]'
	touch $(STAMP)

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

install: $(STAMP) node_modules/.installed

run: install
	$(VENV)/bin/vidpipe up

# The quick tests first (a broken build fails in a minute), then the slow ones (`-m slow`).
# Each half on two pytest-xdist workers; a test goes with its group (its module, or a folder whose
# fixtures are costly: tests/conftest.py) to one worker. `make test XDIST=` runs them in one process.
XDIST ?= -n 2 --dist loadgroup

test: install
	bash scripts/bootstrap.sh --with-postgres
	export VIDPIPE_TEST_POSTGRES_URL="$$(bash scripts/test-postgres.sh)" \
	  PATH="$(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$$PATH"; \
	$(PY) -m pytest -m "not slow" $(XDIST) && $(PY) -m pytest -m slow $(XDIST)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy vidpipe api poller
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) node_modules data
