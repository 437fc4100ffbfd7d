package gpuinfo

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// A library that cannot be loaded is ErrNoNVML with its path in the
// message, and nothing else is called (a call would end the test binary).
func TestDevicesWithoutLibrary(t *testing.T) {
	dir := t.TempDir()
	notELF := filepath.Join(dir, "garbage", "libnvidia-ml.so.1")
	if err := os.MkdirAll(filepath.Dir(notELF), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(notELF, []byte("not a shared object"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"missing":   filepath.Join(dir, "libnvidia-ml.so.1"),
		"not_a_lib": notELF,
		"bare_name": "libzgda-no-such-nvml.so.1",
	} {
		t.Run(name, func(t *testing.T) {
			l := nvml.New(nvml.WithLibraryPath(path))
			for range 2 { // a second failing session is as clean as the first
				ds, err := devices(l, path)
				if !errors.Is(err, ErrNoNVML) || ds != nil {
					t.Fatalf("got %v, %v; want ErrNoNVML", ds, err)
				}
				msg := err.Error()
				if !strings.HasPrefix(msg, "NVML is not available: ") || !strings.Contains(msg, path+" could not be loaded") ||
					!strings.Contains(msg, "LD_LIBRARY_PATH") {
					t.Fatalf("message does not say what is missing and what to do: %q", msg)
				}
			}
		})
	}
}

// Devices on this machine: either no NVML, said so, or devices indexed in
// order and named (or saying why not). Two sessions in a row both work.
func TestDevicesHere(t *testing.T) {
	for range 2 {
		ds, err := Devices()
		if err != nil {
			if !errors.Is(err, ErrNoNVML) || ds != nil {
				t.Fatalf("Devices: %v, %v", ds, err)
			}
			t.Logf("no NVML here: %v", err)
			continue
		}
		for i, d := range ds {
			if d.Index != i {
				t.Errorf("device %d has index %d", i, d.Index)
			}
			if d.Name == "" && !slices.Contains(d.Unsupported, "name") && len(d.Errors) == 0 {
				t.Errorf("device %d: no name and no reason: %+v", i, d)
			}
		}
		t.Logf("%d devices: %s", len(ds), Summary(ds))
	}
}

func TestInitError(t *testing.T) {
	for _, c := range []struct {
		name string
		ret  nvml.Return
		hint string
	}{
		{"library_not_found", nvml.ERROR_LIBRARY_NOT_FOUND, "lib.so could not be loaded (no NVIDIA driver"},
		{"driver_not_loaded", nvml.ERROR_DRIVER_NOT_LOADED, "kernel driver is not loaded"},
		{"no_permission", nvml.ERROR_NO_PERMISSION, "/dev/nvidia*"},
		{"version_mismatch", nvml.ERROR_LIB_RM_VERSION_MISMATCH, "does not match the loaded NVIDIA kernel driver"},
		{"other", nvml.ERROR_UNKNOWN, "nvmlInit failed: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := initError(c.ret, "lib.so")
			if !errors.Is(err, ErrNoNVML) || !strings.HasPrefix(err.Error(), "NVML is not available: ") || !strings.Contains(err.Error(), c.hint) {
				t.Fatalf("%v", err)
			}
		})
	}
}

type symbols map[string]bool

func (s symbols) LookupSymbol(name string) error {
	if s[name] {
		return nil
	}
	return errors.New("undefined symbol " + name)
}

// One field NVML refuses leaves that field zero and says why; it does not
// fail the device.
func TestGet(t *testing.T) {
	r := &reader{ext: symbols{"nvmlOK": true, "nvmlNotSupported": true, "nvmlNoPermission": true}, have: map[string]bool{}}
	var d Device
	val := func(v float64, ret nvml.Return) func() (float64, nvml.Return) {
		return func() (float64, nvml.Return) { return v, ret }
	}
	if !get(r, &d, "ok", "nvmlOK", &d.PowerDrawW, val(350, nvml.SUCCESS)) || d.PowerDrawW != 350 {
		t.Fatalf("SUCCESS: %+v", d)
	}
	var x float64
	if get(r, &d, "not_supported", "nvmlNotSupported", &x, val(1, nvml.ERROR_NOT_SUPPORTED)) ||
		get(r, &d, "no_symbol", "nvmlMissing", &x, val(2, nvml.SUCCESS)) ||
		get(r, &d, "no_permission", "nvmlNoPermission", &x, val(3, nvml.ERROR_NO_PERMISSION)) || x != 0 {
		t.Fatalf("a refused field was stored: %v", x)
	}
	if !reflect.DeepEqual(d.Unsupported, []string{"not_supported", "no_symbol"}) {
		t.Errorf("Unsupported = %q", d.Unsupported)
	}
	if len(d.Errors) != 1 || !strings.HasPrefix(d.Errors[0], "no_permission: ") || d.Errors[0] == "no_permission: " {
		t.Errorf("Errors = %q", d.Errors)
	}
}

func h100(i int) Device {
	return Device{Index: i, Name: "NVIDIA H100 80GB HBM3", DriverVersion: "550.54.15", ComputeMajor: 9, MemoryTotal: 81559 << 20}
}

func TestSummary(t *testing.T) {
	a10 := Device{Index: 2, Name: "NVIDIA A10", DriverVersion: "550.54.15", ComputeMajor: 8, ComputeMinor: 6, MemoryTotal: 24 << 30}
	for _, c := range []struct {
		name string
		ds   []Device
		want string
	}{
		{"none", nil, "none"},
		{"one", []Device{h100(0)}, "NVIDIA H100 80GB HBM3 (driver 550.54.15, 79.6 GiB, sm_90)"},
		{"two_alike", []Device{h100(0), h100(1)}, "2× NVIDIA H100 80GB HBM3 (driver 550.54.15, 79.6 GiB, sm_90)"},
		{"mixed", []Device{h100(0), h100(1), a10}, "2× NVIDIA H100 80GB HBM3 (driver 550.54.15, 79.6 GiB, sm_90); NVIDIA A10 (driver 550.54.15, 24.0 GiB, sm_86)"},
		{"unreadable", []Device{{Index: 3, Errors: []string{"device: ERROR_GPU_IS_LOST"}}}, "GPU 3"},
		{"name_only", []Device{{Name: "Tesla T4"}}, "Tesla T4"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Summary(c.ds); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestCUDAVersion(t *testing.T) {
	for v, want := range map[int]string{12040: "12.4", 11080: "11.8", 12000: "12.0", 13010: "13.1"} {
		if got := cudaVersion(v); got != want {
			t.Errorf("cudaVersion(%d) = %q, want %q", v, got, want)
		}
	}
}

func TestDeviceJSON(t *testing.T) {
	d := h100(0)
	d.PowerDrawW, d.PCIeGen, d.SMClockMaxMHz = 69.5, 5, 1980
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"index": 0.0, "name": "NVIDIA H100 80GB HBM3", "driver_version": "550.54.15", "compute_capability_major": 9.0,
		"memory_total_bytes": float64(81559 << 20), "power_draw_watts": 69.5, "pcie_gen": 5.0, "sm_clock_max_mhz": 1980.0,
		"uuid": "", "cuda_driver_version": "", "temperature_c": 0.0, "gpu_utilization_percent": 0.0,
	} {
		if got, ok := m[k]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	if _, ok := m["unsupported"]; ok {
		t.Errorf("empty unsupported is in the JSON: %s", b)
	}
	d.Unsupported = []string{"power_draw_watts"}
	b, _ = json.Marshal(d)
	var back Device
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, d) {
		t.Fatalf("round trip: %v\n%+v\n%+v", err, back, d)
	}
}

func TestWriteText(t *testing.T) {
	d := h100(0)
	d.CUDADriverVersion, d.PowerLimitW, d.TemperatureC = "12.4", 700, 31
	d.Unsupported = []string{"power_draw_watts"}
	d.Errors = []string{"utilization: ERROR_NO_PERMISSION"}
	lost := Device{Index: 1, Errors: []string{"device: ERROR_GPU_IS_LOST"}}
	var b strings.Builder
	if err := WriteText(&b, []Device{d, lost}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"GPU 0  NVIDIA H100 80GB HBM3\n",
		"  driver       550.54.15, CUDA 12.4\n",
		"  compute      9.0 (sm_90)\n",
		"  memory       79.6 GiB total, 0.0 GiB used, 0.0 GiB free\n",
		"  power        n/a of 700.0 W\n", // unsupported: not "0.0"
		"  utilization  n/a\n",            // failed with a reason
		"  temperature  31 °C\n",
		"  unsupported  power_draw_watts\n",
		"  error        utilization: ERROR_NO_PERMISSION\n",
		"\nGPU 1  n/a\n  uuid         n/a\n", // no handle: nothing was read
		"  error        device: ERROR_GPU_IS_LOST\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}
