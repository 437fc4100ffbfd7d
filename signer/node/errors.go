package node

import "errors"

// Sentinel errors of Start and of a running Node.
var (
	// ErrConfig: a configuration field is invalid (the message names it).
	ErrConfig = errors.New("node: bad config")
	// ErrIdentity: the libp2p identity file is unreadable, malformed or
	// readable by group or others.
	ErrIdentity = errors.New("node: bad libp2p identity")
	// ErrNotRegistered: the signer is not registered and no registrar key was
	// given to register it.
	ErrNotRegistered = errors.New("node: signer not registered on the chain")
	// ErrClosed: the node was closed.
	ErrClosed = errors.New("node: closed")
)
