# SelfDB — `make help` lists the targets.
#
# Everything here works on a fresh Debian/Ubuntu machine with Go installed:
# PostgreSQL, memcached and wrk are installed with apt when missing (see
# .ci/services.sh), staticcheck with `go install` into bin/tools, and Deno (the
# functions runtime) with npm into bin/tools/deno (.ci/deno.sh).

SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
TOOLS_BIN := $(CURDIR)/bin/tools
STATICCHECK_VERSION ?= v0.8.2
# Overridable: `make test GOTEST_PKGS=./platform/...`
GOTEST_PKGS ?= ./...
GOTEST_FLAGS ?= -race -count=1 -timeout 20m
# Per fuzz target after the tests: `make test FUZZTIME=30s`; 0 skips them.
FUZZTIME ?= 5s
# `make docker` tags the image selfdb:$(VERSION) and selfdb:latest, the one
# docker/docker-compose.yml runs.
IMAGE ?= selfdb

export GO GOTEST_PKGS GOTEST_FLAGS FUZZTIME

.DEFAULT_GOAL := help
.PHONY: help build run stop test lint bench chaos docker clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-zA-Z_-]*:.*## / {printf "  %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "  variables: GOTEST_PKGS=$(GOTEST_PKGS)  GOTEST_FLAGS='$(GOTEST_FLAGS)'  FUZZTIME=$(FUZZTIME)  VERSION=$(VERSION)"

build: ## build bin/selfdb (static, version stamped)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/selfdb ./cmd/selfdb

run: build ## run the server locally (starts Postgres + memcached under .data/, installs Deno, when needed)
	@bash .ci/dev.sh

stop: ## stop the `make run` server, then the PostgreSQL and memcached it started under .data/
	@bash .ci/services.sh stop .data

test: ## go test -race ./... against real Postgres + memcached (ephemeral unless SELFDB_TEST_* are set) and Deno, then each fuzz target for FUZZTIME (0 skips)
	@bash .ci/test.sh

lint: ## gofmt, go vet, staticcheck (all three run; any finding fails)
	@[ -x $(TOOLS_BIN)/staticcheck ] || GOBIN=$(TOOLS_BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@rc=0; \
	out=$$(gofmt -l $$(ls -d cmd modules platform migrations 2>/dev/null)); \
	if [ -n "$$out" ]; then echo "gofmt: these files need gofmt -w:"; echo "$$out"; rc=1; fi; \
	echo "go vet ./..."; $(GO) vet ./... || rc=1; \
	echo "staticcheck ./..."; $(TOOLS_BIN)/staticcheck ./... || rc=1; \
	exit $$rc

bench: build ## load-test the server against a bare Fiber hello-world (wrk, loopback)
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/benchhello ./cmd/benchhello
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/benchrt ./cmd/benchrt
	@bash .ci/bench.sh

chaos: build ## two instances under load while Postgres restarts/hangs and memcached stalls/dies; a step test (not in CI)
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/chaos ./cmd/chaos
	@bash .ci/chaos.sh

docker: ## build the container image selfdb:VERSION, also tagged selfdb:latest for docker/docker-compose.yml (needs a Docker engine)
	docker build -f docker/Dockerfile --build-arg VERSION=$(VERSION) -t $(IMAGE):$(VERSION) -t $(IMAGE):latest .

clean: ## remove built binaries (keeps .data/ and bin/tools)
	rm -f bin/selfdb bin/benchhello bin/benchrt bin/chaos
	$(GO) clean -testcache
