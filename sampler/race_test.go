//go:build race

package sampler_test

// raceEnabled: the race detector slows FK20 about 20×, past the DA nodes'
// own query deadlines, so honest nodes may time out on first requests.
const raceEnabled = true
