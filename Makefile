# Clientela: the two commands of the quick start are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000
CHROMIUM ?= /usr/bin/chromium
SERVICES := customers automation credits exports

.PHONY: run test lint typecheck cfn-lint unit package token console-link browser screenshots bench clean schemas

$(STAMP): requirements/dev.in requirements/runtime.in requirements/dev.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.in -c requirements/dev.lock
	$(PY) -c "import pathlib, site; root = pathlib.Path('.').resolve(); \
	paths = ['lib', 'events', 'infra'] + ['services/' + s for s in '$(SERVICES)'.split()]; \
	pathlib.Path(site.getsitepackages()[0], 'clientela.pth').write_text(''.join(str(root / p) + '\n' for p in paths))"
	@touch $(STAMP)

## Runs the whole local stack in the foreground (Ctrl-C stops it).
run: $(STAMP)
	$(PY) -m clientela_local --port $(PORT)

## Installs Debian's Chromium for the console's browser tests, when it is missing (as root).
browser:
	@command -v $(CHROMIUM) >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }
	@$(CHROMIUM) --version

## Runs every check CI runs: lint, types, templates, tests.
test: $(STAMP) lint typecheck cfn-lint
	$(PY) -m pytest -n 2 --dist loadgroup --durations=25

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy lib events infra/clientela_local $(foreach s,$(SERVICES),services/$(s)/chalicelib) tests bench
	@for s in $(SERVICES); do $(VENV)/bin/mypy services/$$s/app.py || exit 1; done

## Rewrites the README's console pictures (docs/images/) from the browser tests.
screenshots: $(STAMP) browser
	CLIENTELA_SCREENSHOTS=1 $(PY) -m pytest -n 0 tests/browser -q

## Builds every deployable artifact into build/ (see README, "Deploy to AWS").
package: $(STAMP)
	$(PY) -m clientela_local.package --out build
	$(PY) -m clientela_local.docs --out build/docs

cfn-lint: package
	$(VENV)/bin/cfn-lint infra/*.yaml build/*/sam.json

## Prints a link that signs the demo store's owner into the console: make console-link [PORT=8000]
console-link: $(STAMP)
	@$(PY) -m clientela_local.console --base-url http://127.0.0.1:$(PORT)

## Prints a bearer token for any store: make token STORE=<id>
token: $(STAMP)
	@$(PY) -m clientela_local.token --store "$(STORE)"

## Regenerates events/schemas and events/samples from the contracts.
schemas: $(STAMP)
	$(PY) -m clientela_events.generate

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf build $(VENV)
