# Everything a fresh machine needs: `make test` and `make run` create the virtualenv and install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint run bench bench-status coldstart soak doctor status replay redrive clean

$(STAMP): pyproject.toml shared/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# make run        — local stack, replays events/, then keeps serving
# make run ONCE=1 — exits after the replay: 0 when every sample deal reached its expected outcome
# make run POST=1 — with OnecPostDocuments=true: every created document must also be posted in 1C
run: install
	$(BIN)/python -m local.runners.run $(if $(ONCE),--once,) $(if $(POST),--post,)

# make bench — a burst of won deals; prints Bitrix24 and 1C requests per invoice
bench: install
	$(BIN)/python -m local.runners.benchmark $(if $(DEALS),--deals $(DEALS),)

# make bench-status — the status sync over 500 open documents (DOCUMENTS=n): 1C and Bitrix24 requests per sweep
# against the bounds, and the sweep's time against the function's timeout
bench-status: install
	$(BIN)/python -m local.runners.status_bench $(if $(DOCUMENTS),--documents $(DOCUMENTS),)

# make coldstart — each function's cold import (fresh interpreter, as Lambda's init) and the receiver's cold first request
# (import + one webhook queued, against moto's server): min and median of 15 runs, wall time and CPU
coldstart: install
	$(BIN)/python -m local.runners.cold_imports

# make soak — 1000 won deals on the template's retry settings (clock x20): random faults per request, an hour's
# Bitrix24 outage and 1C outage, crashes before the ledger write; accounts for each deal (DEALS=n, SEED=s)
soak: install
	$(BIN)/python -m local.runners.soak $(if $(DEALS),--deals $(DEALS),) $(if $(SEED),--seed $(SEED),)

# make doctor — checks a set-up; here against make run's local stack (ARGS="--release bp_2018" etc.)
doctor: install
	$(BIN)/python -m local.runners.doctor $(ARGS)

# operator commands against a running `make run` (another terminal); for a deployed stack use
# `.venv/bin/invoice-bridge --stack NAME status --deal N` (see README)
status: install
	$(BIN)/invoice-bridge --local status --deal $(DEAL)
replay: install
	$(BIN)/invoice-bridge --local replay --deal $(DEAL)
redrive: install
	$(BIN)/invoice-bridge --local redrive

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .aws-sam
