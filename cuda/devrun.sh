#!/usr/bin/env bash
# cuda/devrun.sh: the prepared run for a GPU machine that has nvcc and CUDA
# but no Go and no network (docs: cuda/doc.go). Build here first:
#
#   go build -o .dev/zgda ./cmd/zgda
#   go test -c -o .dev/cuda.test ./cuda
#
# then carry .dev/ and the CUDA sources and run, on the device machine:
#
#   OUT=/some/dir bash cuda/devrun.sh
#
# It builds libzgda_cuda.so with nvcc (timed), runs the carried test binary
# (the TestDevice* tests must pass, not skip; the clang compile checks
# TestDeviceCodeCompiles and kin are left out, as the device machine has
# no clang), benchmarks `zgda bench encode`
# with --device cuda beside --device cpu for 1, 8 and 31 MiB and a batch of
# 64 one-row blobs, records `zgda devices --json`, and writes everything
# under $OUT, within about 8 minutes. Without a GPU it says so and exits 3 at
# once.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$(pwd)/.dev/out}
mkdir -p "$OUT"
log() { echo "devrun: $*" | tee -a "$OUT/devrun.log"; }

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >"$OUT/gpus.txt" 2>&1 || ! grep -q '^GPU' "$OUT/gpus.txt"; then
	log "no NVIDIA GPU here (nvidia-smi finds none): this script needs a GPU machine; nothing was run"
	exit 3
fi
command -v nvcc >/dev/null 2>&1 || { log "no nvcc on PATH: cannot build libzgda_cuda.so"; exit 4; }
for f in .dev/zgda .dev/cuda.test; do
	[ -x "$f" ] || { log "missing $f: build it on the Go machine first (see the top of this script)"; exit 5; }
done
log "GPUs: $(tr '\n' ';' <"$OUT/gpus.txt")"

arch=${CUDA_ARCH:-sm_$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d '. ')}
SECONDS=0
if ! timeout 300 make cuda CUDA_ARCH="$arch" BIN=.dev/zgda >"$OUT/nvcc.log" 2>&1; then
	log "nvcc failed (arch $arch); see nvcc.log"
	tail -40 "$OUT/nvcc.log"
	exit 6
fi
log "libzgda_cuda.so built for $arch in ${SECONDS} s"
export ZGDA_CUDA_LIB=$(pwd)/cuda/build/libzgda_cuda.so
cp "$ZGDA_CUDA_LIB" "$OUT/" 2>/dev/null || true

rc=0
(cd cuda && timeout 240 ../.dev/cuda.test -test.v -test.run '^TestDevice' -test.skip 'Compiles$' >"$OUT/tests.log" 2>&1) || rc=$?
if grep -q -- '--- SKIP: TestDevice' "$OUT/tests.log"; then
	log "a TestDevice test skipped on a GPU machine: that is a failure"
	rc=7
fi
log "device tests: exit $rc ($(grep -c -- '--- PASS' "$OUT/tests.log") passed, $(grep -c -- '--- FAIL' "$OUT/tests.log") failed)"

.dev/zgda devices --json >"$OUT/devices.json" 2>&1 || log "zgda devices failed"
for dev in cuda cpu; do
	timeout 150 .dev/zgda bench encode --device "$dev" --sizes 1MiB,8MiB,31MiB --batch-blobs 64 --json \
		>"$OUT/bench-encode-$dev.json" 2>"$OUT/bench-encode-$dev.err" || { log "bench encode --device $dev failed"; [ "$rc" -ne 0 ] || rc=8; }
done
log "done: results under $OUT"
exit $rc
