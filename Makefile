# One-command entry points (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: demo test test-postgres production-check setup translations extract-messages lint bench vendor-assets clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11+ is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,prod]'
	@touch $(STAMP)

setup: $(STAMP) translations

translations: $(STAMP)
	@$(BIN)/pybabel compile -f -d portale/translations

# Sets up, migrates an SQLite file under var/, loads reference and demo data, starts the
# fake external services and the portal, and prints the demo logins and the URL.
demo: setup
	$(BIN)/portale db upgrade
	$(BIN)/portale data generate --companies 300 --procedures 2000 --seed 1 --if-empty
	$(BIN)/portale demo load
	$(BIN)/portale demo serve --host $(HOST) --port $(PORT)

# The whole test suite: SQLite by default; PostgreSQL too when PORTALE_TEST_DATABASE_URL is set.
test: setup
	$(BIN)/python -m pytest -q -n 2 -p no:cacheprovider

test-postgres: setup
	PORTALE_TEST_DATABASE_URL=$${PORTALE_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
		$(BIN)/python -m pytest -q -n 2 -p no:cacheprovider

# Two gunicorn instances, a Celery worker and a local S3 server on one PostgreSQL database
# (<test database>_prodcheck) under concurrent filings; asserts protocol numbers, jobs, uploads.
production-check: setup
	PORTALE_CHECK_DATABASE_URL=$${PORTALE_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
		$(BIN)/python bench/production_check.py

extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o portale/translations/messages.pot .
	$(BIN)/pybabel update -i portale/translations/messages.pot -d portale/translations --no-fuzzy-matching --ignore-obsolete

lint: $(STAMP)
	$(BIN)/ruff check .

# Benchmarks (bench/README.md): e.g. make bench BENCH_ARGS="pages --db postgres --scale full"
bench: setup
	@$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python -m bench $(BENCH_ARGS)

vendor-assets:
	cd /tmp && rm -rf bi-vendor && mkdir bi-vendor && cd bi-vendor && npm pack bootstrap-italia@2.18.3 >/dev/null && tar xzf bootstrap-italia-*.tgz
	rm -rf portale/static/vendor/bootstrap-italia/{css,js,fonts,svg,assets}
	mkdir -p portale/static/vendor/bootstrap-italia/css portale/static/vendor/bootstrap-italia/js
	cp /tmp/bi-vendor/package/dist/css/bootstrap-italia.min.css portale/static/vendor/bootstrap-italia/css/
	cp /tmp/bi-vendor/package/dist/js/bootstrap-italia.bundle.min.js portale/static/vendor/bootstrap-italia/js/
	cp -r /tmp/bi-vendor/package/dist/fonts /tmp/bi-vendor/package/dist/svg /tmp/bi-vendor/package/dist/assets portale/static/vendor/bootstrap-italia/
	find portale/static/vendor/bootstrap-italia/fonts \( -name '*.eot' -o -name '*.ttf' -o -name '*.svg' \) -delete

clean:
	rm -rf $(VENV) var
