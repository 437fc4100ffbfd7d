package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// --cpuprofile lets a benchmarker see where a long command spends its time
// (go tool pprof FILE) without rebuilding.
var cpuProfilePath string

func init() {
	rootCmd.PersistentFlags().StringVar(&cpuProfilePath, "cpuprofile", "",
		"write a CPU profile of the whole command to this file (read it with 'go tool pprof')")
	rootCmd.PersistentPreRunE = startCPUProfile
	rootCmd.PersistentPostRunE = stopCPUProfile
}

var cpuProfileFile *os.File

func startCPUProfile(cmd *cobra.Command, _ []string) error {
	if cpuProfilePath == "" {
		return nil
	}
	f, err := os.Create(cpuProfilePath)
	if err != nil {
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	cpuProfileFile = f
	return nil
}

func stopCPUProfile(*cobra.Command, []string) error {
	if cpuProfileFile == nil {
		return nil
	}
	pprof.StopCPUProfile()
	err := cpuProfileFile.Close()
	cpuProfileFile = nil
	if err != nil {
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	return nil
}
