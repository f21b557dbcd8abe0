# The two README commands: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
# The installer, bootstrapped with pip; the same version is locked in uv.lock (pyproject's dev group).
UV_VERSION := 0.13.8
FLASK := $(BIN)/flask --app eventtrack
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
DEB_PACKAGES := zbar-tools chromium ffmpeg wrk nginx openssl postgresql-client systemd

.PHONY: setup system-deps run test test-sqlite test-postgres lint lock bench clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)

# .venv holds exactly what uv.lock says (versions and hashes), plus eventtrack itself as an
# editable install; --locked refuses a uv.lock that no longer matches pyproject.toml.
$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	@$(UV) sync --locked --extra test --quiet || { \
	  echo "*** If uv says uv.lock needs updating: run 'make lock' and commit uv.lock. ***" >&2; exit 1; }
	touch $@

setup: $(VENV)/.synced

# After editing pyproject.toml's dependencies. Newer versions of what is locked:
# `make lock LOCK_ARGS=--upgrade` (all) or `LOCK_ARGS='--upgrade-package NAME'` (one).
lock: | $(UV)
	$(UV) lock $(LOCK_ARGS)

# Debian packages the tests use (QR decoding, the real browser, the fake camera's video).
system-deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# The web app and the mail worker together: every mail (passes, sign-in and sign-up links,
# follow-ups) lands in instance/mail/ within seconds. One Ctrl-C stops both.
run: setup
	$(FLASK) db upgrade
	$(FLASK) demo
	@$(FLASK) worker --interval 2 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	$(FLASK) run --host 127.0.0.1 --port 5000

lint: setup
	$(UV) lock --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-sqlite: setup system-deps
	$(BIN)/pytest -q

# PostgreSQL half: runs where a server answers; in CI (CI=true) a missing server fails the build.
test-postgres: setup system-deps
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
	  EVENTTRACK_TEST_DATABASE_URL=$(PG_URL) $(BIN)/pytest -q; \
	elif [ "$$CI" = "true" ]; then \
	  echo "PostgreSQL at $(PG_URL) does not answer: CI needs it." >&2; exit 1; \
	else \
	  echo "*** PostgreSQL at $(PG_URL) does not answer: the PostgreSQL half of the suite was NOT run. ***"; \
	fi

# The two halves run side by side (each prints its own output when it ends): they share no
# database, port or Redis key, and the suite takes half the time.
test: lint setup system-deps
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

# Every benchmark runs on SQLite, then on PostgreSQL where a server answers, and 2 servers vs 1
# on PostgreSQL; all of them run even when one misses a target, and the exit status says if any
# did.
BENCHES := checkin followups pages reports
bench: setup system-deps
	@status=0; \
	if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
	  pg=1; else pg=; echo "*** PostgreSQL at $(PG_URL) does not answer: its figures are NOT measured. ***"; fi; \
	for b in $(BENCHES); do \
	  echo "== bench.$$b (SQLite)"; $(BIN)/python -m bench.$$b || status=1; \
	  if [ -n "$$pg" ]; then echo "== bench.$$b (PostgreSQL)"; $(BIN)/python -m bench.$$b --postgres $(PG_URL) || status=1; fi; \
	done; \
	if [ -n "$$pg" ]; then echo "== bench.cluster (PostgreSQL: 2 servers vs 1)"; $(BIN)/python -m bench.cluster --postgres $(PG_URL) || status=1; fi; \
	exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
