// Package da holds the small wire types that every other zgda package
// shares: blob keys, and (as they arrive) blob headers, slices and
// certificates. It depends on nothing but the standard library, so any
// package may import it without pulling in the codec, the chain or storage.
package da
