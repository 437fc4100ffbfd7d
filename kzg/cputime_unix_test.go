//go:build unix

package kzg

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used (user + system), which a
// benchmark reports beside wall time: on a shared machine it moves far less
// with the other processes' load.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
