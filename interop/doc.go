// Package interop holds zgda's interoperability tests against other
// projects' real clients, starting with the OP Stack's alt-DA client
// (altda.DAClient from github.com/ethereum-optimism/optimism/op-alt-da,
// what op-node and op-batcher use) driven against an in-process devnet
// (docs/spec.md §7, "OP Stack alt-DA").
//
// It is a nested module (github.com/zgda/zgda/interop) so that the
// optimism monorepo and op-geth, a large test-only dependency graph, stay
// out of zgda's own go.mod: building or importing zgda never downloads
// them, and their versions cannot move zgda's. The module replaces
// github.com/zgda/zgda with the enclosing tree (../), so its tests always
// run against the working copy, and go-ethereum with op-geth, as the
// optimism go.mod does.
//
// The package holds nothing but its tests. `make test` and `make lint` run it
// (cd interop && go test ./...).
package interop
