# The two commands (see README): `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: run test install install-test browser peers lint format local-env superuser

run: install local-env  ## install everything, migrate, run web + worker on SQLite
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py runstack

# Development settings where manage.py reads them (config/settings.py loads .local/env), so
# commands typed in another terminal (createsuperuser, shell) run with the same ones.
local-env:
	@mkdir -p .local
	@test -f .local/env || printf '# Written by make run; read by manage.py. The real environment wins.\nDEBUG=%s\n' "$${DEBUG:-true}" > .local/env

superuser: install local-env  ## create an admin user for /admin/ (asks for email and password)
	$(PY) manage.py createsuperuser

test: install-test browser peers  ## install test dependencies (Chromium, peer servers) and run the whole suite
	$(PY) -m pytest $(PYTEST_ARGS)

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $@

install-test: install

# Playwright cannot download its own browser here; Debian's Chromium is what the tests drive.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Chromium from Debian for the browser tests..."; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Real third-party servers the integration tests talk to: a Bluesky PDS and an OAuth server (npm),
# mastodon-mock (PyPI, in a virtual environment of its own).
peers:
	bash tests/peers/install.sh

# ruff, then mypy over the files [tool.mypy] lists in pyproject.toml (its cache: .mypy_cache/).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format:
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
