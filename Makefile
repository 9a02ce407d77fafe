# obzvon — make help lists the targets.
GO        ?= go
BIN       := bin/obzvon
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
PREFIX    ?= /usr
DESTDIR   ?=
RACE_PKGS := ./media/... ./dialer/...
export CGO_ENABLED ?= 1

.PHONY: help build run test test-deps bench lint install clean bench-pacing

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/obzvon
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/obzvon

run: build ## build and start the appliance on built-in defaults (data under ./var)
	./$(BIN) serve

test-deps: ## install the Debian packages the tests use (SIPp, baresip, sox, promtool)
	./scripts/install-test-deps.sh

test: test-deps ## install test peers if missing, then run every test
	$(GO) vet ./...
	$(GO) test -timeout 20m -count=1 ./...
	$(GO) test -timeout 20m -count=1 -race $(RACE_PKGS)
	$(GO) test -timeout 10m -count=1 -run '^$$' -bench . -benchtime=1x ./...

bench: build ## run the benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./...

bench-pacing: build ## pacing simulator: full grid (3 modes × 10/25/50/100 agents × p 0.2/0.3/0.4, 5 days of 8 h) and blended
	./$(BIN) simulate --seeds 5 --hours 8 --parallel 2 --blended

lint: ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l .)" || (gofmt -l . && exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@2025.1.1 ./...

install: build ## install binary, unit, config and prompts under DESTDIR
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/obzvon

clean: ## remove build output
	rm -rf bin
