PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench agent clean messages

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
AGENT_BIN := libervia-agent-$(VERSION)-$(shell uname -s | tr A-Z a-z)-$(shell uname -m)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	@mkdir -p var
	@test -f .env || $(BIN)/python -m functions.dev_env > .env
	@echo "Portal: http://127.0.0.1:$$(sed -n 's/^CONSOLE_PORT=//p' .env)  (engine API: http://127.0.0.1:$$(sed -n 's/^ENGINE_PORT=//p' .env))"
	$(BIN)/honcho start -f Procfile -e .env

test: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(VENV)/.installed
	$(BIN)/python -m bench.run_all

agent: $(VENV)/.installed
	$(BIN)/pyinstaller --onefile --noconfirm --clean --log-level WARN --name $(AGENT_BIN) \
		--distpath dist/agent --workpath build/pyinstaller --specpath build/pyinstaller \
		agent/__main__.py
	cd dist/agent && sha256sum libervia-agent-*-*-* > SHA256SUMS
	@echo "built dist/agent/$(AGENT_BIN) and dist/agent/SHA256SUMS"

# The portal's message catalog: extract every message, merge new ones into each language's .po
# (then translate them there; tests/portal/test_i18n.py fails on any left untranslated).
messages: $(VENV)/.installed
	mkdir -p build
	$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -k ngettext:1,2 -k N_ -k N_plural:1,2 --no-location \
		--omit-header --sort-output -o build/messages.pot .
	$(BIN)/pybabel update -i build/messages.pot -d portal/locale -D messages --width 100 --no-fuzzy-matching \
		--ignore-obsolete

clean:
	rm -rf $(VENV) var .pytest_cache build dist
