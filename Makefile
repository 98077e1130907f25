# make is the contract: every target below has `##` help, shown by `make help`.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/tugboatcd/tugboat/internal/cli.Version=$(VERSION)
GOTEST_FLAGS ?= -count=1 -timeout=30m
# go tool with the pinned developer tools of hack/tools.
TOOL := go tool -modfile=$(CURDIR)/hack/tools/go.mod

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/tugboat
	go build -ldflags "$(LDFLAGS)" -o bin/tugboat ./cmd/tugboat

# IMAGE_REPO is where `make images` pushes tugboat's image; by default the registry of
# the running `tugboat dev` cluster (plain HTTP on loopback, hence IMAGE_FLAGS' --insecure).
IMAGE_REPO ?= $(shell bin/tugboat dev status -o json 2>/dev/null | sed -n 's/.*"registry": *"\([^"]*\)".*/\1/p')/tugboat
IMAGE_FLAGS ?= --insecure
# The image's build, as a user's CI would run it (internal/cli's selfImageFlags test the
# same): no DuckDB and so no cgo, stripped, no base image (no shell), a numeric user.
SELF_IMAGE_FLAGS := --base scratch --build-tags noduckdb --ldflags "-s -w -X=github.com/tugboatcd/tugboat/internal/cli.Version=$(VERSION)" --user 65532

.PHONY: images
images: build ## Build tugboat's image with `tugboat image publish` and push it to IMAGE_REPO (default: tugboat dev's registry); prints its digest reference
	@case "$(IMAGE_REPO)" in /*) echo "no IMAGE_REPO: start the local cluster (tugboat dev up) or set IMAGE_REPO=REGISTRY/NAME" >&2; exit 2;; esac
	bin/tugboat image publish ./cmd/tugboat --repo $(IMAGE_REPO) --tag $(VERSION) --tag latest $(SELF_IMAGE_FLAGS) $(IMAGE_FLAGS)

# STORE_IMAGE_REPO is where `make clickhouse-image` pushes the store's image (beside tugboat's).
STORE_IMAGE_REPO ?= $(patsubst %/tugboat,%/clickhouse,$(IMAGE_REPO))
CLICKHOUSE_VERSION := $(shell dpkg-query -W -f '$${Version}' clickhouse-server 2>/dev/null | sed 's/[+~-].*//')

.PHONY: clickhouse-image
clickhouse-image: build clickhouse ## Build the store's image from the installed clickhouse-server (binary, its libraries, a minimal config, user 101) and push it to STORE_IMAGE_REPO; prints its digest reference
	@case "$(STORE_IMAGE_REPO)" in /*) echo "no STORE_IMAGE_REPO: start the local cluster (tugboat dev up) or set STORE_IMAGE_REPO=REGISTRY/NAME" >&2; exit 2;; esac
	@dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && bash hack/clickhouse/rootfs.sh "$$dir/root" >&2 && \
	bin/tugboat image publish --from-dir "$$dir/root" --entrypoint /usr/sbin/clickhouse-server --base scratch --user 101:101 \
	  --repo $(STORE_IMAGE_REPO) --tag $(CLICKHOUSE_VERSION) --tag latest $(IMAGE_FLAGS)

.PHONY: cluster
cluster: ## Build the pinned Kubernetes components (and kubelet, kube-proxy, pause) into ~/.cache/tugboat/cluster (once; ~20 min cold)
	bash hack/cluster/build.sh

.PHONY: node-prereqs
node-prereqs: ## Install Debian's containerd, runc, CNI plugins and iptables if missing (the real node's)
	bash hack/node/install.sh

.PHONY: demo
demo: build cluster node-prereqs ## Start the local cluster with its real node; push an app, GitOps, tugboat query and trace of what happened; then the traced two-service app
	bin/tugboat dev up --real-node
	go run ./hack/demo

.PHONY: demo-app
demo-app: build ## The demo's traced two-service app alone, as processes on this machine (no cluster): an agent, tugboat query, tugboat trace
	go run ./hack/demo -only app

.PHONY: clickhouse
clickhouse: ## Install Debian's clickhouse-server if missing (the store and KQL tests start it)
	bash hack/clickhouse/install.sh

.PHONY: test
test: cluster clickhouse node-prereqs ## Run all tests (the local cluster's components are built first)
	go test $(GOTEST_FLAGS) ./...
	cd api && go test $(GOTEST_FLAGS) ./...
	api/hack/verify-generated.sh

.PHONY: lint
lint: ## Run golangci-lint, the generated-files check and the CONTRIBUTING map check
	$(TOOL) golangci-lint run ./...
	cd api && $(TOOL) golangci-lint run --config ../.golangci.yml ./...
	api/hack/verify-generated.sh
	hack/map/check.sh

.PHONY: generate
generate: ## Regenerate deepcopy functions and CRDs from the Go types in api/
	api/hack/generate.sh

# FUZZTIME is how long `make fuzz` runs each fuzz target.
FUZZTIME ?= 60s
# FUZZ_TARGETS are package:FuzzName pairs; their seed corpora (testdata/fuzz) run in `make test`.
FUZZ_TARGETS := \
	./internal/observe/collect:FuzzParseCRILine \
	./internal/gitops/receiver:FuzzVerify \
	./internal/gitops/build:FuzzBuildManifests \
	./internal/observe/kql:FuzzParse

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (60s); a crasher is written to the package's testdata/fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} in $${t%%:*} for $(FUZZTIME)"; \
		go test -run='^$$' -fuzz="^$${t#*:}$$" -fuzztime=$(FUZZTIME) -parallel=2 "$${t%%:*}"; \
	done

# KILL_ROUNDS is how many times `make faults` SIGKILLs the controller mid-apply.
KILL_ROUNDS ?= 100

.PHONY: faults
faults: cluster ## Kill the controller KILL_ROUNDS (100) times at random points of a 500-object apply (make test runs 6)
	TUGBOAT_KILL_ROUNDS=$(KILL_ROUNDS) go test -count=1 -timeout=60m -v \
		-run='^TestAControllerSIGKILLedAtRandomPointsConvergesEveryTime$$' ./internal/gitops/controller

.PHONY: bench
bench: cluster clickhouse node-prereqs fuzz faults ## Run the Go benchmarks (GitOps shape vs the apiserver's floor, control-plane start, ...); results in docs/benchmarks.md
	go test -run='^$$' -bench=. -timeout=120m ./...

.PHONY: clean
clean: ## Remove build output (not the component cache)
	rm -rf bin
