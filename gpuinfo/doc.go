// Package gpuinfo reads facts about the machine's NVIDIA GPUs from NVML
// for `zgda devices` and the machine line of `zgda bench`:
// name, UUID, driver and CUDA driver versions, compute capability, memory,
// PCIe link, clocks, power, utilization and temperature.
//
// # Model
//
// Devices is a snapshot: it initializes NVML, reads every device, and shuts
// NVML down again, so nothing stays open between calls. Calls are serialized.
// Utilization, clocks, power and temperature are instantaneous readings.
//
// # Run-time switch
//
// NVML comes from github.com/NVIDIA/go-nvml (v0.13.0-1), which dlopens
// libnvidia-ml.so.1 when Devices first runs, so one binary builds and runs on
// machines with and without an NVIDIA driver. Its bindings are cgo calls into
// symbols that are resolved only once that library is loaded: calling any of
// them (even nvmlShutdown) when it is not makes the dynamic linker end the
// process ("symbol lookup error"), which no recover can catch. So Devices
// calls nothing but Init until Init has succeeded, and looks each later
// symbol up before calling it, so that an older driver lacking one only
// loses that field.
//
// # Errors
//
// When the library cannot be loaded or NVML does not initialize (no driver,
// driver not loaded, no permission, library and kernel driver of different
// versions), Devices returns an error that wraps ErrNoNVML and says what is
// missing and what to do; callers that merely report (bench) treat it as
// "no GPU". A field that NVML does not support on a device (power on some
// boards, for instance) is left zero and named in Device.Unsupported; a field
// NVML fails to read for another reason is left zero and named with the
// reason in Device.Errors. Neither fails the device or the call.
package gpuinfo
