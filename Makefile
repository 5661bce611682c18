# Every target does its own set-up: a fresh clone needs nothing but python3.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# torch is pinned to the CPU build on this project's machines; pyproject.toml only asks torch>=2.3.
TORCH  ?= torch==2.13.0

.PHONY: install demo test lint report-check clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/aekit demo --output-dir demo-output

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Opens the demo's HTML report in a real headless browser (Debian's Chromium,
# installed here if missing) and saves a screenshot next to it.
report-check: $(STAMP)
	command -v chromium >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }
	$(BIN)/aekit demo --fast --output-dir demo-output/report-check
	$(BIN)/python scripts/report_check.py demo-output/report-check/report.html demo-output/report-check/screenshot.png

lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard benchmarks examples scripts)
	$(BIN)/ruff format --check src tests $(wildcard benchmarks examples scripts)

clean:
	rm -rf $(VENV) demo-output .pytest_cache
