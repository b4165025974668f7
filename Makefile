.PHONY: install demo test lint bench-claims
install:
	bash scripts/install.sh
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check server tests loadtests
bench-claims:
	.venv/bin/liveshop bench claims
