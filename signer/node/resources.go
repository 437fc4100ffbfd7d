package node

import (
	"github.com/libp2p/go-libp2p/core/network"
	libp2pproto "github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"

	"github.com/zgda/zgda/da"
)

// streamWindow is the most memory yamux grows one stream's receive window
// to (its maximum window): what a fast dispersal stream needs.
const streamWindow = 16 << 20

// newResourceManager is libp2p's resource manager with the limits of c over
// its scaled defaults (docs/spec.md §5): inbound connections in all and per
// peer, inbound streams per peer, and the memory libp2p's buffers may take.
// The node's own bounds (Limits) still govern the work behind each
// protocol; these keep connections and streams from being opened for free
// in the first place. A peer's dispersal streams get room for full yamux
// windows, so that its transfers are not slowed.
func newResourceManager(c P2PConfig, l LimitsConfig) (network.ResourceManager, error) {
	limits := rcmgr.PartialLimitConfig{
		System: rcmgr.ResourceLimits{
			ConnsInbound: rcmgr.LimitVal(c.MaxConns),
			Conns:        rcmgr.LimitVal(c.MaxConns + 128), // and the dials out (none today)
			Memory:       rcmgr.LimitVal64(c.MaxMemory),
		},
		Transient: rcmgr.ResourceLimits{
			ConnsInbound: rcmgr.LimitVal(c.MaxConns),
			Conns:        rcmgr.LimitVal(c.MaxConns + 128),
		},
		PeerDefault: rcmgr.ResourceLimits{
			ConnsInbound:   rcmgr.LimitVal(c.MaxConnsPerPeer),
			Conns:          rcmgr.LimitVal(c.MaxConnsPerPeer + 8),
			StreamsInbound: rcmgr.LimitVal(c.MaxStreamsPerPeer),
			Memory:         rcmgr.LimitVal64(int64(l.MaxPerPeer+2) * streamWindow),
		},
		ProtocolPeer: map[libp2pproto.ID]rcmgr.ResourceLimits{
			// Streams past Limits.MaxPerPeer are answered Busy, not reset:
			// room for a few more than that.
			da.ProtocolDisperse: {
				StreamsInbound: rcmgr.LimitVal(2*l.MaxPerPeer + 2),
				Memory:         rcmgr.LimitVal64(int64(l.MaxPerPeer+1) * streamWindow),
			},
		},
	}.Build(rcmgr.DefaultLimits.AutoScale())
	return rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits))
}
