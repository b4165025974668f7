.PHONY: install demo test lint bench-claims
install:
	bash scripts/install.sh
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
lint:
	bash scripts/lint.sh
bench-claims:
	.venv/bin/liveshop bench claims
