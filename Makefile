.PHONY: install demo test test-quick lint bench-claims
install:
	bash scripts/install.sh
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
test-quick:
	bash scripts/test.sh -q -m "not browser and not media and not slow"
lint:
	bash scripts/lint.sh
bench-claims:
	.venv/bin/liveshop bench claims
