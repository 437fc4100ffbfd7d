# zgda — build, test, benchmark. CGO is required (blst).
GO      ?= go
BIN     ?= bin/zgda
PKGS    ?= ./...
export CGO_ENABLED = 1

.PHONY: build test test-long bench lint run clean

build:
	$(GO) build -o $(BIN) ./cmd/zgda

# The README's test command; .ci/run calls exactly this.
test:
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 25m $(PKGS)

# Heavy cases (many crash trials, large blobs); not part of CI.
test-long:
	ZGDA_LONG=1 $(GO) test -count=1 -timeout 90m $(PKGS)

# Benchmarks beside their anchors (go-eth-kzg, klauspost/reedsolomon, ...).
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3x $(PKGS)

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet $(PKGS)

clean:
	rm -rf bin
