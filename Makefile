# shop: the two everyday commands are `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
export FLASK_APP := wsgi

SAMPLE_CSV   := data/sample/products.csv.gz
SAMPLE_JSONL := data/sample/products_full.jsonl.gz
DEMO_ADMIN_EMAIL    ?= admin@example.com
DEMO_ADMIN_PASSWORD ?= shop-demo-admin-2026

.PHONY: run test test-all install install-dev db sample admin lint clean

$(BIN)/flask: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(BIN)/flask
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/flask           ## runtime dependencies into .venv
install-dev: $(VENV)/.dev       ## runtime + test dependencies

db: install                     ## create or upgrade the database schema
	$(BIN)/flask db upgrade

sample: db                      ## import the bundled ~2,000-product sample (idempotent)
	$(BIN)/flask shop import-catalog $(SAMPLE_CSV) --attributes $(SAMPLE_JSONL)

admin: db                       ## create the demo admin and print its credentials
	$(BIN)/flask shop create-admin --email $(DEMO_ADMIN_EMAIL) --password $(DEMO_ADMIN_PASSWORD) --keep-api-tokens
	@echo "Demo admin: $(DEMO_ADMIN_EMAIL) / $(DEMO_ADMIN_PASSWORD)"

run: sample admin               ## install, build the database, import the sample, serve on :5000
	@echo "Serving the shop at http://127.0.0.1:5000  (demo admin: $(DEMO_ADMIN_EMAIL) / $(DEMO_ADMIN_PASSWORD))"
	$(BIN)/flask run --host 127.0.0.1 --port 5000

# The suite runs in parallel, one pytest-xdist worker per core, each with its own database
# and Redis key prefix (tests/conftest.py); PYTEST_WORKERS=0 runs it in a single process.
PYTEST_WORKERS ?= auto

test: install-dev               ## run the test suite (SQLite unless TEST_DATABASE_URL is set)
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test-all: install-dev           ## the suite on SQLite and on PostgreSQL, with Redis (as CI does)
	bash .ci/run

lint: install-dev
	$(BIN)/ruff check shop tests bench config.py wsgi.py gunicorn.conf.py
	$(BIN)/ruff format --check shop tests bench config.py wsgi.py gunicorn.conf.py

clean:
	rm -rf $(VENV) instance .pytest_cache
