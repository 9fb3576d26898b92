# bootgen: the two commands a newcomer needs are `make run` and `make test`.
# Both install what they need on first use (scripts/setup).

PYTHON := .venv/bin/python
BOOTGEN := $(PYTHON) -m bootgen
STAMP := .venv/.bootgen-installed

.PHONY: all setup build iso run test clean

all: build

$(STAMP): pyproject.toml scripts/setup
	scripts/setup

setup: $(STAMP)

build: setup
	$(BOOTGEN) build

iso: setup
	$(BOOTGEN) iso

# Build and boot on the best backend this machine has, and say which CPU it tested.
run: setup
	$(BOOTGEN) run --backend auto

test: setup
	$(PYTHON) -m pytest -q -rs

clean:
	rm -rf build .pytest_cache .hypothesis
