// Package da holds the small wire types and the counting that every other
// zgda package shares (docs/spec.md): blob keys and headers, batch headers
// and their RFC 6962 batch roots, the quorum and window arithmetic, the
// certificate and the DA node wire protocol. It depends on nothing but the
// standard library, so any package may import it without pulling in the
// codec, the chain or storage. Decoders of outside bytes are strict (one
// encoding per value) and never panic.
package da
