package main

import (
	"log/slog"
	"os"
	"runtime/debug"
)

// applyMemoryLimit sets the Go runtime's soft memory limit to the budget
// the configuration implies (engine.Config.MemoryBudget), unless the
// operator set GOMEMLIMIT, which wins.
func applyMemoryLimit(log *slog.Logger, budget int64) {
	if v := os.Getenv("GOMEMLIMIT"); v != "" {
		log.Info("memory limit from GOMEMLIMIT", "GOMEMLIMIT", v)
		return
	}
	debug.SetMemoryLimit(budget)
	log.Info("memory limit from the configuration (set GOMEMLIMIT to override)", "MiB", budget>>20)
}
