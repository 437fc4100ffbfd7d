# zgda — build, test, benchmark. CGO is required (blst).
GO      ?= go
BIN     ?= bin/zgda
PKGS    ?= ./...
export CGO_ENABLED = 1
# interop/ is a nested module (op-alt-da's own client against a devnet; its
# go.mod keeps optimism and op-geth out of ours), so ./... does not reach
# it: test and lint run it too. INTEROP= leaves it out.
INTEROP ?= interop

.PHONY: build test test-long bench lint run devnet demo clean cuda

build:
	$(GO) build -o $(BIN) ./cmd/zgda

# The README's test command; .ci/run calls exactly this.
test:
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 25m $(PKGS)
	$(if $(INTEROP),cd $(INTEROP) && $(GO) vet ./... && $(GO) test -count=1 -timeout 25m ./...)

# Heavy cases (many crash trials, large blobs); not part of CI.
test-long:
	ZGDA_LONG=1 $(GO) test -count=1 -timeout 90m $(PKGS)

# Benchmarks beside their anchors (go-eth-kzg, klauspost/reedsolomon, ...).
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3x $(PKGS)

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet $(PKGS)
	$(if $(INTEROP),cd $(INTEROP) && $(GO) vet ./...)

# The main job: the whole network in one command (chain, DA nodes, the
# disperser's HTTP API on 127.0.0.1:3100), data under DEVNET_DIR; Ctrl-C
# stops, running it again resumes.
DEVNET_DIR ?= .run/devnet
run devnet: build
	$(BIN) devnet --dir $(DEVNET_DIR)

# The codec alone: encode a random 1 MiB blob (R = 9 rows: a batch of one
# with D = 9, K = 16 and N = 36 dispersed rows), keep 10 rows chosen at
# random, corrupt one of them, and rebuild the exact bytes from the other
# D = 9 (the corrupted row is named and left out).
RUN_DIR ?= .run
demo: build
	@mkdir -p $(RUN_DIR) && rm -rf $(RUN_DIR)/enc
	@head -c 1048576 /dev/urandom > $(RUN_DIR)/blob.bin
	$(BIN) commit $(RUN_DIR)/blob.bin
	$(BIN) encode $(RUN_DIR)/blob.bin --out $(RUN_DIR)/enc
	@cd $(RUN_DIR)/enc && ls row-*.bin | shuf | tail -n +11 | xargs rm -f && \
	  f=$$(ls row-*.bin | head -1) && printf x | dd of=$$f bs=1 seek=77 conv=notrunc 2>/dev/null && \
	  echo "kept $$(ls row-*.bin | wc -l) of 36 rows and corrupted $$f"
	$(BIN) decode $(RUN_DIR)/enc --out $(RUN_DIR)/back.bin
	@cmp $(RUN_DIR)/blob.bin $(RUN_DIR)/back.bin && echo "OK: rebuilt bytes are identical"

# libzgda_cuda.so, the GPU backend that package cuda loads at run time
# (dlopen: the Go binary itself never needs CUDA). Needs nvcc; pick the
# GPU with CUDA_ARCH (sm_90 H100/H200, sm_80 A100, sm_89 L4), tune with
# NVCCFLAGS (e.g. -DZGDA_BATCH_ELEMS=524288).
NVCC      ?= nvcc
CUDA_ARCH ?= sm_90
NVCCFLAGS ?=
cuda:
	@mkdir -p cuda/build
	$(NVCC) -O3 -std=c++17 -arch=$(CUDA_ARCH) --shared -Xcompiler -fPIC $(NVCCFLAGS) -o cuda/build/libzgda_cuda.so cuda/*.cu
	@mkdir -p $(dir $(BIN)) && cp cuda/build/libzgda_cuda.so $(dir $(BIN))   # zgda loads it from beside itself (or $$ZGDA_CUDA_LIB)

clean:
	rm -rf bin $(RUN_DIR)
