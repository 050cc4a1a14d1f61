.PHONY: run test

# Start web, worker and scheduler on the embedded default with demo data (http://localhost:8000).
run:
	scripts/demo

# Run the whole test suite (PostgreSQL + Redis + headless Chromium).
test:
	scripts/test
