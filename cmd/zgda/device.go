package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zgda/zgda/cuda"
	"github.com/zgda/zgda/encoder"
)

const deviceHelp = "where to run the codec's NTTs: auto (the GPU when libzgda_cuda.so and a device are present), cpu or cuda"

func addDeviceFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "device", "auto", deviceHelp)
}

// chooseBackend resolves --device to an encoder backend and says on w which
// one it chose and why. --device cuda fails with what is missing.
func chooseBackend(device string, workers int, w io.Writer) (encoder.Backend, string, error) {
	switch device {
	case "cpu":
		return encoder.NewCPUBackend(workers), "cpu (--device cpu)", nil
	case "cuda":
		lib, err := cuda.Load()
		if err != nil {
			return nil, "", fmt.Errorf("--device cuda: %w", err)
		}
		b, err := cuda.NewBackend(lib, 0)
		if err != nil {
			return nil, "", fmt.Errorf("--device cuda: %w", err)
		}
		desc := "cuda"
		if d, ok := b.(interface{ Device() string }); ok {
			desc = "cuda: " + d.Device()
		}
		fmt.Fprintf(w, "device cuda: %s\n", desc)
		return b, desc, nil
	case "auto":
		b, why := cuda.Auto()
		if b.Name() == "cpu" {
			// Auto's CPU backend uses every core; honour --workers.
			b = encoder.NewCPUBackend(workers)
		}
		if b.Name() == "cpu" {
			why = "using the CPU (" + strings.TrimPrefix(why, "cpu: ") + ")"
		}
		fmt.Fprintf(w, "device auto: %s\n", why)
		return b, "auto: " + why, nil
	}
	return nil, "", fmt.Errorf("--device %q: want auto, cpu or cuda", device)
}
