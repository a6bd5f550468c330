# eventually: the demo, the tests, and the tools around them.
# Go is the only prerequisite; the browser test also needs Chromium and
# the Postgres tests Debian's postgresql (.ci/run installs both; see README).

BIN   := bin/eventually
STAGE ?= 6
ID    ?=

.PHONY: boot build test reset logs docs bench vet

build:
	@echo "building $(BIN) (the first build compiles SQLite and NATS and takes a few minutes)"
	go build -o $(BIN) ./cmd/eventually

## boot: build, start the broker and every service, Ctrl-C stops them all
boot: build
	EVENTUALLY_STAGE=$(STAGE) ./$(BIN) boot

## test: the whole suite, race detector on, browser and Postgres tests
## included; the last lines say so when either was skipped (no Chromium,
## no Postgres)
test:
	go vet ./...
	@rm -f test-output/browser-test-skipped test-output/postgres-test-skipped
	@echo "go test -race -count=1 -timeout 15m ./..."
	@go test -race -count=1 -timeout 15m ./...; status=$$?; \
	if [ -f test-output/browser-test-skipped ]; then \
	  echo "SKIPPED: the browser test (e2e) did not run: $$(cat test-output/browser-test-skipped)"; fi; \
	if [ -f test-output/postgres-test-skipped ]; then \
	  echo "SKIPPED: the Postgres tests did not run: $$(cat test-output/postgres-test-skipped)"; fi; \
	exit $$status

## reset: forget all data and logs (the next boot starts from the seed)
reset:
	rm -rf data logs

## logs: one request's (or one trace's) log lines from every service, in time order
logs:
	@test -n "$(ID)" || (echo "usage: make logs ID=<request-id or trace-id>" && exit 2)
	@go build -o $(BIN) ./cmd/eventually
	@./$(BIN) logs $(ID)

## docs: regenerate docs/events.md from the Go types in pkg/events
docs:
	go run ./cmd/eventually docs > docs/events.md

## bench: Go benchmarks of the hot paths, then the load runs of docs/performance.md
bench: build
	go test -run '^$$' -bench . -benchmem ./pkg/events ./pkg/messaging
	./$(BIN) load -n 2000 -c 16 --rebuild-size 1000000
	./$(BIN) load -n 10000 -c 16 --changes -1 --rebuild=false
	./$(BIN) load -n 2000 -c 16 --rate 500 --changes -1 --rebuild=false

vet:
	go vet ./...
