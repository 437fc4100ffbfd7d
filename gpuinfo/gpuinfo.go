package gpuinfo

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// ErrNoNVML means NVML could not be used on this machine: libnvidia-ml.so.1
// is not there or NVML did not initialize. Errors wrapping it say which, and
// what to do.
var ErrNoNVML = errors.New("NVML is not available")

// Device is what NVML reports about one GPU. A field NVML could not read is
// zero, and its JSON name is in Unsupported (NVML does not support it on this
// device or driver) or, with the reason, in Errors.
type Device struct {
	Index             int    `json:"index"`
	UUID              string `json:"uuid"`
	Name              string `json:"name"`
	DriverVersion     string `json:"driver_version"`      // e.g. "550.54.15"
	CUDADriverVersion string `json:"cuda_driver_version"` // highest CUDA the driver supports, e.g. "12.4"
	ComputeMajor      int    `json:"compute_capability_major"`
	ComputeMinor      int    `json:"compute_capability_minor"`

	MemoryTotal uint64 `json:"memory_total_bytes"`
	MemoryUsed  uint64 `json:"memory_used_bytes"`
	MemoryFree  uint64 `json:"memory_free_bytes"`

	// The PCIe link now and at best; an idle GPU often runs its link at a
	// lower generation than it can.
	PCIeGen      int `json:"pcie_gen"`
	PCIeWidth    int `json:"pcie_width"`
	PCIeGenMax   int `json:"pcie_gen_max"`
	PCIeWidthMax int `json:"pcie_width_max"`

	SMClockMHz     uint32 `json:"sm_clock_mhz"`
	SMClockMaxMHz  uint32 `json:"sm_clock_max_mhz"`
	MemClockMHz    uint32 `json:"mem_clock_mhz"`
	MemClockMaxMHz uint32 `json:"mem_clock_max_mhz"`

	PowerDrawW  float64 `json:"power_draw_watts"`
	PowerLimitW float64 `json:"power_limit_watts"` // the enforced limit

	GPUUtilization    uint32 `json:"gpu_utilization_percent"`    // time a kernel ran, last sample period
	MemoryUtilization uint32 `json:"memory_utilization_percent"` // time memory was read or written, last sample period
	TemperatureC      uint32 `json:"temperature_c"`

	Unsupported []string `json:"unsupported,omitempty"`
	Errors      []string `json:"errors,omitempty"`
}

// SM names the device's compute capability the way nvcc does ("sm_90"), or
// "" when it is not known.
func (d Device) SM() string {
	if d.ComputeMajor == 0 {
		return ""
	}
	return fmt.Sprintf("sm_%d%d", d.ComputeMajor, d.ComputeMinor)
}

// Summary describes ds in one short line for reports, e.g.
// "NVIDIA H100 80GB HBM3 (driver 550.54.15, 79.6 GiB, sm_90)"; consecutive
// identical devices are counted ("2× …") and different ones joined by "; ".
// It is "none" when ds is empty.
func Summary(ds []Device) string {
	if len(ds) == 0 {
		return "none"
	}
	var groups []string
	var counts []int
	for _, d := range ds {
		s := describe(d)
		if n := len(groups); n > 0 && groups[n-1] == s {
			counts[n-1]++
			continue
		}
		groups = append(groups, s)
		counts = append(counts, 1)
	}
	for i, n := range counts {
		if n > 1 {
			groups[i] = fmt.Sprintf("%d× %s", n, groups[i])
		}
	}
	return strings.Join(groups, "; ")
}

func describe(d Device) string {
	name := d.Name
	if name == "" {
		name = fmt.Sprintf("GPU %d", d.Index)
	}
	var facts []string
	if d.DriverVersion != "" {
		facts = append(facts, "driver "+d.DriverVersion)
	}
	if d.MemoryTotal > 0 {
		facts = append(facts, gib(d.MemoryTotal))
	}
	if sm := d.SM(); sm != "" {
		facts = append(facts, sm)
	}
	if len(facts) == 0 {
		return name
	}
	return name + " (" + strings.Join(facts, ", ") + ")"
}

// WriteText prints each device as a small two-column table, for people;
// a value NVML could not read shows as "n/a".
func WriteText(w io.Writer, ds []Device) error {
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "GPU %d  %s\n", d.Index, d.or("name", d.Name))
		line := func(k, v string) { fmt.Fprintf(&b, "  %-12s %s\n", k, v) }
		line("uuid", d.or("uuid", d.UUID))
		line("driver", fmt.Sprintf("%s, CUDA %s", d.or("driver_version", d.DriverVersion), d.or("cuda_driver_version", d.CUDADriverVersion)))
		line("compute", d.or("compute_capability", fmt.Sprintf("%d.%d (%s)", d.ComputeMajor, d.ComputeMinor, d.SM())))
		line("memory", d.or("memory", fmt.Sprintf("%s total, %s used, %s free", gib(d.MemoryTotal), gib(d.MemoryUsed), gib(d.MemoryFree))))
		line("pcie", fmt.Sprintf("gen %s x%s now, gen %s x%s max",
			d.or("pcie_gen", fmt.Sprint(d.PCIeGen)), d.or("pcie_width", fmt.Sprint(d.PCIeWidth)),
			d.or("pcie_gen_max", fmt.Sprint(d.PCIeGenMax)), d.or("pcie_width_max", fmt.Sprint(d.PCIeWidthMax))))
		line("sm clock", fmt.Sprintf("%s of %s MHz", d.or("sm_clock_mhz", fmt.Sprint(d.SMClockMHz)), d.or("sm_clock_max_mhz", fmt.Sprint(d.SMClockMaxMHz))))
		line("mem clock", fmt.Sprintf("%s of %s MHz", d.or("mem_clock_mhz", fmt.Sprint(d.MemClockMHz)), d.or("mem_clock_max_mhz", fmt.Sprint(d.MemClockMaxMHz))))
		line("power", fmt.Sprintf("%s of %s W", d.or("power_draw_watts", fmt.Sprintf("%.1f", d.PowerDrawW)), d.or("power_limit_watts", fmt.Sprintf("%.1f", d.PowerLimitW))))
		line("utilization", d.or("utilization", fmt.Sprintf("GPU %d%%, memory %d%%", d.GPUUtilization, d.MemoryUtilization)))
		line("temperature", d.or("temperature_c", fmt.Sprintf("%d °C", d.TemperatureC)))
		if len(d.Unsupported) > 0 {
			line("unsupported", strings.Join(d.Unsupported, ", "))
		}
		for _, e := range d.Errors {
			line("error", e)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// or is v, or "n/a" when NVML could not read field.
func (d Device) or(field, v string) string {
	if slices.Contains(d.Unsupported, field) || slices.ContainsFunc(d.Errors, func(e string) bool {
		return strings.HasPrefix(e, field+": ") || strings.HasPrefix(e, "device: ")
	}) {
		return "n/a"
	}
	return v
}

func gib(b uint64) string { return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30)) }

// libName is the library go-nvml loads by default.
const libName = "libnvidia-ml.so.1"

var (
	mu  sync.Mutex // one NVML session at a time
	lib = nvml.New()
)

// Devices initializes NVML, reads every GPU it sees and shuts NVML down. The
// slice is the caller's. Without a usable NVML it returns an error wrapping
// ErrNoNVML; with NVML and no GPU it returns an empty slice and no error.
func Devices() ([]Device, error) {
	return devices(lib, libName)
}

// devices is Devices over the library l, loaded from path (named in errors).
func devices(l nvml.Interface, path string) ([]Device, error) {
	mu.Lock()
	defer mu.Unlock()
	// Nothing but Init may be called before Init succeeds: see the package
	// comment.
	if ret := l.Init(); ret != nvml.SUCCESS {
		return nil, initError(ret, path)
	}
	// A failed shutdown leaves nothing for the caller to do, and the facts
	// are already read.
	defer l.Shutdown()

	n, ret := l.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, fmt.Errorf("gpuinfo: NVML initialized but could not count devices: %v", ret)
	}
	r := &reader{ext: l.Extensions(), have: map[string]bool{}}
	var sys Device // system-wide facts, copied into every device
	get(r, &sys, "driver_version", "nvmlSystemGetDriverVersion", &sys.DriverVersion, l.SystemGetDriverVersion)
	var cuda int
	if get(r, &sys, "cuda_driver_version", "nvmlSystemGetCudaDriverVersion", &cuda, l.SystemGetCudaDriverVersion) {
		sys.CUDADriverVersion = cudaVersion(cuda)
	}

	ds := make([]Device, 0, n)
	for i := range n {
		d := Device{
			Index:             i,
			DriverVersion:     sys.DriverVersion,
			CUDADriverVersion: sys.CUDADriverVersion,
			Unsupported:       append([]string(nil), sys.Unsupported...),
			Errors:            append([]string(nil), sys.Errors...),
		}
		h, ret := l.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			d.Errors = append(d.Errors, "device: "+ret.Error())
			ds = append(ds, d)
			continue
		}
		readDevice(r, h, &d)
		ds = append(ds, d)
	}
	return ds, nil
}

func readDevice(r *reader, h nvml.Device, d *Device) {
	get(r, d, "name", "nvmlDeviceGetName", &d.Name, h.GetName)
	get(r, d, "uuid", "nvmlDeviceGetUUID", &d.UUID, h.GetUUID)
	var cc [2]int
	if get(r, d, "compute_capability", "nvmlDeviceGetCudaComputeCapability", &cc, func() ([2]int, nvml.Return) {
		major, minor, ret := h.GetCudaComputeCapability()
		return [2]int{major, minor}, ret
	}) {
		d.ComputeMajor, d.ComputeMinor = cc[0], cc[1]
	}
	var mem nvml.Memory
	if get(r, d, "memory", "nvmlDeviceGetMemoryInfo", &mem, h.GetMemoryInfo) {
		d.MemoryTotal, d.MemoryUsed, d.MemoryFree = mem.Total, mem.Used, mem.Free
	}
	get(r, d, "pcie_gen", "nvmlDeviceGetCurrPcieLinkGeneration", &d.PCIeGen, h.GetCurrPcieLinkGeneration)
	get(r, d, "pcie_width", "nvmlDeviceGetCurrPcieLinkWidth", &d.PCIeWidth, h.GetCurrPcieLinkWidth)
	get(r, d, "pcie_gen_max", "nvmlDeviceGetMaxPcieLinkGeneration", &d.PCIeGenMax, h.GetMaxPcieLinkGeneration)
	get(r, d, "pcie_width_max", "nvmlDeviceGetMaxPcieLinkWidth", &d.PCIeWidthMax, h.GetMaxPcieLinkWidth)
	clock := func(f func(nvml.ClockType) (uint32, nvml.Return), t nvml.ClockType) func() (uint32, nvml.Return) {
		return func() (uint32, nvml.Return) { return f(t) }
	}
	get(r, d, "sm_clock_mhz", "nvmlDeviceGetClockInfo", &d.SMClockMHz, clock(h.GetClockInfo, nvml.CLOCK_SM))
	get(r, d, "sm_clock_max_mhz", "nvmlDeviceGetMaxClockInfo", &d.SMClockMaxMHz, clock(h.GetMaxClockInfo, nvml.CLOCK_SM))
	get(r, d, "mem_clock_mhz", "nvmlDeviceGetClockInfo", &d.MemClockMHz, clock(h.GetClockInfo, nvml.CLOCK_MEM))
	get(r, d, "mem_clock_max_mhz", "nvmlDeviceGetMaxClockInfo", &d.MemClockMaxMHz, clock(h.GetMaxClockInfo, nvml.CLOCK_MEM))
	var mw uint32 // NVML reports power in milliwatts
	if get(r, d, "power_draw_watts", "nvmlDeviceGetPowerUsage", &mw, h.GetPowerUsage) {
		d.PowerDrawW = float64(mw) / 1000
	}
	if get(r, d, "power_limit_watts", "nvmlDeviceGetEnforcedPowerLimit", &mw, h.GetEnforcedPowerLimit) {
		d.PowerLimitW = float64(mw) / 1000
	}
	var u nvml.Utilization
	if get(r, d, "utilization", "nvmlDeviceGetUtilizationRates", &u, h.GetUtilizationRates) {
		d.GPUUtilization, d.MemoryUtilization = u.Gpu, u.Memory
	}
	get(r, d, "temperature_c", "nvmlDeviceGetTemperature", &d.TemperatureC, func() (uint32, nvml.Return) {
		return h.GetTemperature(nvml.TEMPERATURE_GPU)
	})
}

// reader remembers which NVML symbols the loaded library has.
type reader struct {
	ext  nvml.ExtendedInterface
	have map[string]bool
}

func (r *reader) has(symbol string) bool {
	ok, seen := r.have[symbol]
	if !seen {
		ok = r.ext.LookupSymbol(symbol) == nil
		r.have[symbol] = ok
	}
	return ok
}

// get stores f's value in *dst and reports true if the library has symbol
// (the C function f calls) and f succeeds; otherwise it leaves *dst alone and
// records field in d.Unsupported or d.Errors.
func get[T any](r *reader, d *Device, field, symbol string, dst *T, f func() (T, nvml.Return)) bool {
	if !r.has(symbol) {
		d.Unsupported = append(d.Unsupported, field)
		return false
	}
	v, ret := f()
	switch ret {
	case nvml.SUCCESS:
		*dst = v
		return true
	case nvml.ERROR_NOT_SUPPORTED, nvml.ERROR_FUNCTION_NOT_FOUND:
		d.Unsupported = append(d.Unsupported, field)
	default:
		d.Errors = append(d.Errors, field+": "+ret.Error())
	}
	return false
}

// cudaVersion renders NVML's CUDA driver version (1000·major + 10·minor).
func cudaVersion(v int) string {
	return fmt.Sprintf("%d.%d", v/1000, v%1000/10)
}

// initError explains why NVML could not be used, and what to do.
func initError(ret nvml.Return, path string) error {
	switch ret {
	case nvml.ERROR_LIBRARY_NOT_FOUND:
		return fmt.Errorf("%w: %s could not be loaded (no NVIDIA driver on this machine? install the driver, or add the directory holding %s to LD_LIBRARY_PATH)", ErrNoNVML, path, path)
	case nvml.ERROR_DRIVER_NOT_LOADED:
		return fmt.Errorf("%w: %s is installed but the NVIDIA kernel driver is not loaded (does nvidia-smi work?)", ErrNoNVML, path)
	case nvml.ERROR_NO_PERMISSION:
		return fmt.Errorf("%w: no permission to open the NVIDIA devices (/dev/nvidia*); run as a user who may", ErrNoNVML)
	case nvml.ERROR_LIB_RM_VERSION_MISMATCH:
		return fmt.Errorf("%w: %s does not match the loaded NVIDIA kernel driver (driver upgraded without a reboot?)", ErrNoNVML, path)
	default:
		return fmt.Errorf("%w: nvmlInit failed: %v", ErrNoNVML, ret)
	}
}
