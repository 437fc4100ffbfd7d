package node

import (
	"errors"

	"github.com/zgda/zgda/internal/p2pkey"
)

// Sentinel errors of Start and of a running Node.
var (
	// ErrConfig: a configuration field is invalid (the message names it).
	ErrConfig = errors.New("node: bad config")
	// ErrIdentity: the libp2p identity file is unreadable, malformed or
	// readable by group or others.
	ErrIdentity = p2pkey.ErrIdentity
	// ErrNotRegistered: the signer is not registered and no registrar key was
	// given to register it.
	ErrNotRegistered = errors.New("node: signer not registered on the chain")
	// ErrRetention: storage.keep_epochs would prune rows while the chain
	// still promises them available (docs/spec.md §6); it comes wrapped with
	// ErrConfig, naming the value to set.
	ErrRetention = errors.New("node: storage.keep_epochs shorter than the chain's availability window")
	// ErrClosed: the node was closed.
	ErrClosed = errors.New("node: closed")
)
