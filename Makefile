# obzvon — make help lists the targets.
GO        ?= go
BIN       := bin/obzvon
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
PREFIX    ?= /usr
DESTDIR   ?=
RACE_PKGS := ./media/... ./dialer/... ./metrics/... ./internal/... ./journal/... ./lists/... ./api/...
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

test: test-deps check-tracked lint ## install test peers if missing, check the tree (tracked files, gofmt, vet, staticcheck), then run every test
	$(GO) test -timeout 20m -count=1 ./...
	$(GO) test -timeout 20m -count=1 -race $(RACE_PKGS)
	$(GO) test -timeout 10m -count=1 -run '^$$' -bench . -benchtime=1x ./...
	SHORT=1 FUZZTIME=3s GO=$(GO) ./scripts/fuzz.sh

bench: build ## run the benchmarks
	$(GO) test -run '^$$' -bench . -benchmem ./...

bench-pacing: build ## pacing simulator: full grid (3 modes × 10/25/50/100 agents × p 0.2/0.3/0.4, 5 days of 8 h) and blended
	./$(BIN) simulate --seeds 5 --hours 8 --parallel 2 --blended

.PHONY: bench-load
bench-load: ## benchmark obzvon with bin/obzvon-load: call setup rate, bridged media (QUICK=1: 10 s steps)
	./scripts/bench-load.sh

.PHONY: leak-check
leak-check: ## load obzvon (300 calls/s short, 200 bridged), idle 45 s, check goroutines/heap/fds are back to idle (QUICK=1: short run)
	./scripts/leak-check.sh

lint: ## gofmt, go vet and staticcheck
	@test -z "$$(gofmt -l .)" || (gofmt -l . && exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.6.1 ./...

# CONFIG_SRC is the default config `make install` puts in /etc/obzvon when
# it is there and /etc/obzvon/obzvon.toml is not (an operator's config is
# never overwritten).
CONFIG_SRC ?= systemd/obzvon.toml

install: build ## install binary, unit, sysusers/tmpfiles, prompts, default config under DESTDIR
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/obzvon
	install -d -m 0755 $(DESTDIR)/lib/systemd/system
	sed 's|^ExecStart=/usr/bin/obzvon |ExecStart=$(PREFIX)/bin/obzvon |' systemd/obzvon.service > $(DESTDIR)/lib/systemd/system/obzvon.service
	chmod 0644 $(DESTDIR)/lib/systemd/system/obzvon.service
	install -D -m 0644 systemd/obzvon.sysusers $(DESTDIR)/usr/lib/sysusers.d/obzvon.conf
	install -D -m 0644 systemd/obzvon.tmpfiles $(DESTDIR)/usr/lib/tmpfiles.d/obzvon.conf
	install -d -m 0755 $(DESTDIR)/usr/share/obzvon/prompts/ru
	install -m 0644 prompts/ru/*.wav $(DESTDIR)/usr/share/obzvon/prompts/ru/
	@if [ -f '$(CONFIG_SRC)' ] && [ ! -e '$(DESTDIR)/etc/obzvon/obzvon.toml' ]; then \
		echo 'install -D -m 0640 $(CONFIG_SRC) $(DESTDIR)/etc/obzvon/obzvon.toml'; \
		install -D -m 0640 '$(CONFIG_SRC)' '$(DESTDIR)/etc/obzvon/obzvon.toml'; \
	fi
	@# On the live system (no DESTDIR) create the user and the directories
	@# now, as a package's postinst would; staged installs leave it to the package.
	@if [ -z '$(DESTDIR)' ] && command -v systemd-sysusers >/dev/null 2>&1; then \
		systemd-sysusers /usr/lib/sysusers.d/obzvon.conf && \
		systemd-tmpfiles --create /usr/lib/tmpfiles.d/obzvon.conf && \
		echo 'obzvon installed: systemctl daemon-reload && systemctl enable --now obzvon'; \
	fi

clean: ## remove build output
	rm -rf bin

.PHONY: check-tracked
check-tracked: ## fail when git tracks a file over 1 MiB or an ELF binary
	./scripts/check-tracked.sh

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 5m); make test runs the network parsers for 3 s
	FUZZTIME=$${FUZZTIME:-5m} GO=$(GO) ./scripts/fuzz.sh

.PHONY: soak
soak: ## steady mixed load for SOAK_MINUTES (default 30): samples into CSV + PNG, fails when a resource grows
	SOAK_MINUTES=$${SOAK_MINUTES:-30} GO=$(GO) ./scripts/soak.sh

.PHONY: overload
overload: ## offer twice the measured setup rate, then twice calls.max_concurrent (CAP=100), 60 s each: excess 503 with Retry-After, no audio lost, RSS under the unit's MemoryMax, serving within 5 s after
	GO=$(GO) ./scripts/overload.sh

.PHONY: bench-campaign
bench-campaign: ## a campaign day scaled 10x in real time (obzvon-load: trunk and 25 operator phones) vs the simulator (AGENTS MINUTES WARMUP LIVE MODE)
	./scripts/bench-campaign.sh

.PHONY: security
security: test-deps ## attack the daemon as an intruder (svcrack, svwar, SIP/TCP, INVITE and login floods, RTP reflection) and print the figures; OBZVON_BIN=old-binary for "before" figures
	@log=$${TMPDIR:-/tmp}/obzvon-security.log; \
	$(GO) test -tags security -timeout 30m -count=1 -v -run 'TestSecurity' ./internal/securitytest/ >$$log 2>&1; rc=$$?; \
	grep -E '^(=== RUN|--- |PASS|FAIL|ok)|FIGURE|_test.go' $$log; echo "full log: $$log"; exit $$rc

# DEB_VERSION is the package's Debian version: the base version plus the
# commit's time and hash, so that every later commit sorts as newer.
DEB_VERSION ?= 0.1.0+git$(shell git log -1 --format=%cd.%h --date=format:%Y%m%d%H%M%S 2>/dev/null || date +%Y%m%d%H%M%S)

.PHONY: deb
deb: ## build obzvon_VERSION_ARCH.deb (binary, unit, sysusers/tmpfiles, prompts, conffile, rules, dashboard, docs)
	$(GO) build -trimpath -buildmode=pie -ldflags '$(LDFLAGS)' -o bin/obzvon-deb ./cmd/obzvon
	./ops/deb/build.sh bin/obzvon-deb '$(DEB_VERSION)' .

.PHONY: bench-acd
bench-acd: ## ACD benchmark: 5,000 callers over 10 min into 2 queues, 50 operators on session legs, 2 runs (QUICK=1: 500 callers, 1 run)
	./scripts/bench-acd.sh
