package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/zgda/zgda/cuda"
	"github.com/zgda/zgda/encoder"
	"github.com/zgda/zgda/engine"
	"github.com/zgda/zgda/kzg"
)

const deviceHelp = "where to run the codec (extensions and row commitments): auto (the GPU when libzgda_cuda.so and a device are present), cpu or cuda"

func addDeviceFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "device", "auto", deviceHelp)
}

// codec is what --device chose: the extension backend and the row
// committer (nil: kzg on the CPU), and a line that says which and why.
type codec struct {
	backend   encoder.Backend
	committer *cuda.Committer
	desc      string
}

// gpu reports whether the codec runs on a GPU.
func (c *codec) gpu() bool { return c.backend.Name() != "cpu" }

// committerOr is the codec's committer, or cpu.
func (c *codec) committerOr(cpu *kzg.Context) engine.Committer {
	if c.committer != nil {
		return c.committer
	}
	return cpu
}

// chooseCodec resolves --device and says on w which codec it chose and
// why. --device cuda fails with what is missing; auto falls back to the CPU.
func chooseCodec(device string, workers int, w io.Writer) (*codec, error) {
	switch device {
	case "cpu":
		return &codec{backend: encoder.NewCPUBackend(workers), desc: "cpu (--device cpu)"}, nil
	case "cuda":
		lib, err := cuda.Load()
		if err != nil {
			return nil, fmt.Errorf("--device cuda: %w", err)
		}
		c, err := gpuCodec(lib)
		if err != nil {
			return nil, fmt.Errorf("--device cuda: %w", err)
		}
		fmt.Fprintf(w, "device cuda: %s\n", c.desc)
		return c, nil
	case "auto":
		lib, err := cuda.Load()
		var c *codec
		if err == nil {
			c, err = gpuCodec(lib)
		}
		if err != nil {
			c = &codec{backend: encoder.NewCPUBackend(workers), desc: fmt.Sprintf("using the CPU (%v)", err)}
		}
		fmt.Fprintf(w, "device auto: %s\n", c.desc)
		c.desc = "auto: " + c.desc
		return c, nil
	}
	return nil, fmt.Errorf("--device %q: want auto, cpu or cuda", device)
}

// codecFor is chooseCodec for a command: its choice goes to stderr unless
// quiet.
func codecFor(cmd *cobra.Command, device string, workers int, quiet bool) (*codec, error) {
	w := cmd.ErrOrStderr()
	if quiet {
		w = io.Discard
	}
	return chooseCodec(device, workers, w)
}

// gpuCodec opens the CUDA extension backend and committer on device 0.
func gpuCodec(lib *cuda.Lib) (*codec, error) {
	b, err := cuda.NewBackend(lib, 0)
	if err != nil {
		return nil, err
	}
	cm, err := cuda.NewCommitter(lib, 0, kzg.Default())
	if err != nil {
		if cl, ok := b.(interface{ Close() error }); ok {
			cl.Close() // the NTT context opened above
		}
		return nil, fmt.Errorf("row commitments: %w", err)
	}
	c := &codec{backend: b, committer: cm.(*cuda.Committer), desc: "cuda"}
	if d, ok := b.(interface{ Device() string }); ok {
		c.desc = "cuda: " + d.Device()
	}
	return c, nil
}
