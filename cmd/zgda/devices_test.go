package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/zgda/zgda/gpuinfo"
)

// devices on this machine: without NVML it answers, exits 0 and says why;
// with a GPU it lists it.
func TestDevicesHere(t *testing.T) {
	ds, nvmlErr := gpuinfo.Devices()
	if nvmlErr != nil && !errors.Is(nvmlErr, gpuinfo.ErrNoNVML) {
		t.Fatal(nvmlErr)
	}
	text, err := run(t, "devices", "--json=false", "--require=false")
	if err != nil {
		t.Fatalf("devices: %v\n%s", err, text)
	}
	js, err := run(t, "devices", "--json", "--require=false")
	if err != nil {
		t.Fatalf("devices --json: %v\n%s", err, js)
	}
	var out struct {
		Devices []gpuinfo.Device `json:"devices"`
		Reason  string           `json:"reason"`
	}
	if err := json.Unmarshal([]byte(js), &out); err != nil {
		t.Fatalf("devices --json: %v\n%s", err, js)
	}
	_, reqErr := run(t, "devices", "--json=false", "--require")

	if len(ds) > 0 {
		if !strings.Contains(text, "GPU 0  ") || len(out.Devices) != len(ds) || out.Reason != "" || reqErr != nil {
			t.Fatalf("with %d GPUs: text\n%s\njson %s\n--require: %v", len(ds), text, js, reqErr)
		}
		return
	}
	reason := "NVML found no GPU"
	if nvmlErr != nil {
		reason = nvmlErr.Error()
		if !strings.Contains(reason, "libnvidia-ml.so.1") {
			t.Errorf("the reason does not name the library: %q", reason)
		}
	}
	if text != "no GPU devices: "+reason+"\n" {
		t.Errorf("text: %q", text)
	}
	if !strings.HasPrefix(js, `{"devices":[],"reason":`) || out.Reason != reason {
		t.Errorf("json: %s", js)
	}
	if reqErr == nil || !strings.Contains(reqErr.Error(), reason) {
		t.Errorf("--require without a GPU: %v", reqErr)
	}
}

// The command over hand-built answers from NVML.
func TestDevicesOutput(t *testing.T) {
	saved := listGPUs
	defer func() { listGPUs = saved }()
	h100 := gpuinfo.Device{Index: 0, Name: "NVIDIA H100 80GB HBM3", DriverVersion: "550.54.15", ComputeMajor: 9,
		MemoryTotal: 81559 << 20, PowerLimitW: 700, Unsupported: []string{"power_draw_watts"}}

	listGPUs = func() ([]gpuinfo.Device, error) { return []gpuinfo.Device{h100}, nil }
	text, err := run(t, "devices", "--json=false", "--require")
	if err != nil || !strings.HasPrefix(text, "GPU 0  NVIDIA H100 80GB HBM3\n") || !strings.Contains(text, "  power        n/a of 700.0 W\n") {
		t.Fatalf("one GPU: %v\n%s", err, text)
	}
	js, err := run(t, "devices", "--json", "--require")
	var out map[string]any
	if err != nil || json.Unmarshal([]byte(js), &out) != nil {
		t.Fatalf("one GPU --json: %v\n%s", err, js)
	}
	if _, ok := out["reason"]; ok || len(out["devices"].([]any)) != 1 ||
		out["devices"].([]any)[0].(map[string]any)["name"] != h100.Name {
		t.Fatalf("one GPU --json: %s", js)
	}

	listGPUs = func() ([]gpuinfo.Device, error) { return nil, nil }
	if text, err := run(t, "devices", "--json=false", "--require=false"); err != nil || text != "no GPU devices: NVML found no GPU\n" {
		t.Fatalf("no GPU: %v %q", err, text)
	}

	// An NVML failure other than its absence is an error, --require or not.
	listGPUs = func() ([]gpuinfo.Device, error) {
		return nil, errors.New("gpuinfo: NVML initialized but could not count devices")
	}
	if _, err := run(t, "devices", "--json", "--require=false"); err == nil || !strings.Contains(err.Error(), "could not count") {
		t.Fatalf("NVML failure: %v", err)
	}
}
