package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zgda/zgda/gpuinfo"
)

// listGPUs reads the GPUs; tests replace it.
var listGPUs = gpuinfo.Devices

// zgda devices: what NVML says about this machine's NVIDIA GPUs.
func init() {
	var asJSON, require bool
	cmd := &cobra.Command{
		Use:   "devices",
		Short: "Show this machine's NVIDIA GPUs as NVML reports them",
		Long: `devices asks NVML (libnvidia-ml.so.1, which comes with the NVIDIA driver) about
each GPU: name, UUID, driver and CUDA driver versions, compute capability,
memory, PCIe link, clocks, power, utilization and temperature. Readings are
taken once, now. A value the GPU or driver does not report shows as n/a and
its name is listed under "unsupported".

With no NVIDIA driver, or no GPU, it says why on stderr and exits 0: this is
a query, not a failure. --require makes that case exit 1, for scripts that
need a GPU.

With --json the output is
  {"devices":[{"index":0,"name":"…","memory_total_bytes":…,…}]}
or, when there are none,
  {"devices":[],"reason":"…"}`,
		Example: `  zgda devices
  zgda devices --json
  zgda devices --require || echo "no GPU here"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ds, err := listGPUs()
			reason := ""
			switch {
			case errors.Is(err, gpuinfo.ErrNoNVML):
				reason = err.Error()
			case err != nil:
				return err
			case len(ds) == 0:
				reason = "NVML found no GPU"
			}
			if asJSON {
				out := struct {
					Devices []gpuinfo.Device `json:"devices"`
					Reason  string           `json:"reason,omitempty"`
				}{append([]gpuinfo.Device{}, ds...), reason}
				if err := json.NewEncoder(cmd.OutOrStdout()).Encode(out); err != nil {
					return err
				}
			} else if reason == "" {
				if err := gpuinfo.WriteText(cmd.OutOrStdout(), ds); err != nil {
					return err
				}
			}
			switch {
			case reason == "":
				return nil
			case require:
				return fmt.Errorf("no GPU devices (--require): %s", reason)
			case !asJSON:
				fmt.Fprintf(cmd.ErrOrStderr(), "no GPU devices: %s\n", reason)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	cmd.Flags().BoolVar(&require, "require", false, "exit 1 when there is no GPU")
	rootCmd.AddCommand(cmd)
}
