//go:build race

package signer

// raceEnabled lets tests skip KDF work that the race detector makes slow.
const raceEnabled = true
