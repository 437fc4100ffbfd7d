// Package bench runs zgda's reproducible benchmarks for `zgda bench`: each
// measurement runs beside its anchor (go-eth-kzg for KZG, klauspost for
// Reed–Solomon) in the same process, interleaved round by round, so that the
// ratio between them survives a noisy shared machine even when the absolute
// numbers do not. Results carry the machine they were taken on, print as a
// table or JSON, and plot as SVG.
package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/gpuinfo"
)

// Result is one measured operation.
type Result struct {
	Suite     string  `json:"suite"`
	Op        string  `json:"op"`               // e.g. "commit/row"
	Size      string  `json:"size"`             // human size of one operation's payload
	Bytes     int64   `json:"bytes"`            // payload bytes per operation
	Impl      string  `json:"impl"`             // "zgda/cpu", "go-eth-kzg", "klauspost", …
	Runs      int     `json:"runs"`             // operations timed
	Seconds   float64 `json:"seconds_per_op"`   // mean wall time per operation
	MBps      float64 `json:"mb_per_s"`         // payload MB (10^6 bytes) per second
	VsAnchor  float64 `json:"time_vs_anchor"`   // this time ÷ the anchor's time (0 for the anchor itself)
	AnchorFor string  `json:"anchor,omitempty"` // the anchor this row is compared with
}

// Machine records where a report was measured.
type Machine struct {
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	Device    string `json:"device"`
	Date      string `json:"date"`

	// The machine's GPUs as NVML reports them, whether or not the suites
	// used one; GPUNote says why there are none.
	GPUs    []gpuinfo.Device `json:"gpus,omitempty"`
	GPUNote string           `json:"gpu_note,omitempty"`
}

// Report is a suite's output.
type Report struct {
	Machine Machine  `json:"machine"`
	Results []Result `json:"results"`
}

// Options tune a run.
type Options struct {
	MinTime time.Duration // per measured operation (default 2 s)
	MinRuns int           // at least this many runs each (default 2)
	Sizes   []int         // blob sizes for the encode suite (default 1 MiB, 8 MiB, 31 MiB)
	// BatchBlobs is the number of one-row (126,976-byte) blobs of the
	// encode suite's batch (default 64; negative: no batch).
	BatchBlobs int
	Workers    int // goroutines (0 = all CPUs)
	Progress   func(msg string)
	// Backend runs the encode suite's extensions (nil: the CPU). A
	// backend other than the CPU's is measured beside the CPU's.
	Backend encoder.Backend
	// Committer commits the encode suite's rows with Backend (nil: kzg on
	// the CPU).
	Committer encoder.Committer
	// Device describes the backend for the report (which one, and why).
	Device string
}

func (o *Options) defaults() {
	if o.MinTime <= 0 {
		o.MinTime = 2 * time.Second
	}
	if o.MinRuns <= 0 {
		o.MinRuns = 2
	}
	if len(o.Sizes) == 0 {
		o.Sizes = []int{1 << 20, 8 << 20, encoder.MaxBlobSize}
	}
	if o.BatchBlobs == 0 {
		o.BatchBlobs = 64
	}
}

func (o *Options) progress(format string, args ...any) {
	if o.Progress != nil {
		o.Progress(fmt.Sprintf(format, args...))
	}
}

// Suites lists the suites Run knows, in the order `zgda bench all` runs them.
var Suites = []string{"kzg", "encode", "rs"}

// Run runs one suite ("kzg", "encode", "rs") or "all".
func Run(ctx context.Context, suite string, opts Options) (*Report, error) {
	opts.defaults()
	rep := &Report{Machine: ThisMachine()}
	if opts.Device != "" {
		rep.Machine.Device = opts.Device
	}
	run := func(s string) error {
		var rs []Result
		var err error
		switch s {
		case "kzg":
			rs, err = runKZG(ctx, &opts)
		case "encode":
			rs, err = runEncode(ctx, &opts)
		case "rs":
			rs, err = runRS(ctx, &opts)
		default:
			return fmt.Errorf("bench: unknown suite %q (have %s, all)", s, strings.Join(Suites, ", "))
		}
		rep.Results = append(rep.Results, rs...)
		return err
	}
	if suite == "all" {
		for _, s := range Suites {
			if err := run(s); err != nil {
				return rep, err
			}
		}
		return rep, nil
	}
	return rep, run(suite)
}

// ThisMachine describes the machine the process runs on.
func ThisMachine() Machine {
	m := Machine{GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		CPUs: runtime.GOMAXPROCS(0), Device: "cpu", Date: time.Now().UTC().Format(time.RFC3339)}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				if i := strings.IndexByte(line, ':'); i >= 0 {
					m.CPUModel = strings.TrimSpace(line[i+1:])
					break
				}
			}
		}
	}
	// No NVML is an ordinary machine, not a failure: the note says so.
	switch ds, err := gpuinfo.Devices(); {
	case err != nil:
		m.GPUNote = err.Error()
	case len(ds) == 0:
		m.GPUNote = "NVML found no GPU"
	default:
		m.GPUs = ds
	}
	return m
}

// pair times op and its anchor alternately until both have run for MinTime
// (and MinRuns), so slow drifts of the machine hit both alike. anchor may
// be nil (no anchor for this operation).
func pair(ctx context.Context, o *Options, op, anchor func() error) (opSec, anchorSec float64, opRuns, anchorRuns int, err error) {
	var opTotal, anTotal time.Duration
	for {
		if err := ctx.Err(); err != nil {
			return 0, 0, 0, 0, err
		}
		t := time.Now()
		if err := op(); err != nil {
			return 0, 0, 0, 0, err
		}
		opTotal += time.Since(t)
		opRuns++
		if anchor != nil {
			t = time.Now()
			if err := anchor(); err != nil {
				return 0, 0, 0, 0, err
			}
			anTotal += time.Since(t)
			anchorRuns++
		}
		done := opTotal >= o.MinTime && opRuns >= o.MinRuns
		if anchor != nil {
			done = done && anTotal >= o.MinTime && anchorRuns >= o.MinRuns
		}
		if done {
			break
		}
	}
	opSec = opTotal.Seconds() / float64(opRuns)
	if anchorRuns > 0 {
		anchorSec = anTotal.Seconds() / float64(anchorRuns)
	}
	return opSec, anchorSec, opRuns, anchorRuns, nil
}

// results turns a timed pair into report rows.
func results(suite, op, size string, bytes int64, impl string, sec float64, runs int, anchorImpl string, anchorSec float64, anchorRuns int) []Result {
	r := Result{Suite: suite, Op: op, Size: size, Bytes: bytes, Impl: impl, Runs: runs, Seconds: sec, MBps: mbps(bytes, sec)}
	if anchorRuns == 0 {
		return []Result{r}
	}
	r.VsAnchor = sec / anchorSec
	r.AnchorFor = anchorImpl
	a := Result{Suite: suite, Op: op, Size: size, Bytes: bytes, Impl: anchorImpl, Runs: anchorRuns, Seconds: anchorSec, MBps: mbps(bytes, anchorSec)}
	return []Result{r, a}
}

func mbps(bytes int64, sec float64) float64 {
	if sec <= 0 {
		return 0
	}
	return float64(bytes) / sec / 1e6
}

// HumanSize renders a byte count the way sizes are named in benchmarks.
func HumanSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	default:
		return fmt.Sprintf("%dB", n)
	}
}

// ParseSize parses "128KiB", "1MiB", "31MiB", "64GiB", "1TiB", "1000" (bytes).
func ParseSize(s string) (int, error) {
	mult := 1
	num := s
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	var n int
	if _, err := fmt.Sscanf(num, "%d", &n); err != nil || n <= 0 || fmt.Sprint(n) != num {
		return 0, fmt.Errorf("bench: size %q: want a positive number with an optional KiB, MiB, GiB or TiB suffix", s)
	}
	return n * mult, nil
}
