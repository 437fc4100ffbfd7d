package dispersal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/zgda/zgda/chain"
	"github.com/zgda/zgda/da"
)

// NewHost returns a dial-only libp2p host with identity id (nil: a fresh
// one), over the transport DA nodes speak (TCP, Noise, yamux). DA nodes
// take dispersals only from a registered disperser's identity (docs/spec.md
// §5 Dispersers); reads need none. Its resource manager is off: the
// Dispatcher bounds its own concurrency.
func NewHost(id crypto.PrivKey) (host.Host, error) {
	opts := []libp2p.Option{
		libp2p.NoListenAddrs,
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.ResourceManager(&network.NullResourceManager{}),
		libp2p.Ping(false),
	}
	if id != nil {
		opts = append(opts, libp2p.Identity(id))
	}
	return libp2p.New(opts...)
}

// addrInfo turns a signer's registered multiaddrs (each ending in
// /p2p/<peer id>) into one peer's dial information.
func addrInfo(addrs []string) (*peer.AddrInfo, error) {
	var mas []ma.Multiaddr
	for _, a := range addrs {
		m, err := ma.NewMultiaddr(a)
		if err != nil {
			return nil, fmt.Errorf("registered address %q: %v", a, err)
		}
		mas = append(mas, m)
	}
	infos, err := peer.AddrInfosFromP2pAddrs(mas...)
	if err != nil {
		return nil, fmt.Errorf("registered addresses %v: %v", addrs, err)
	}
	if len(infos) != 1 {
		return nil, fmt.Errorf("registered addresses %v name %d peers, want 1", addrs, len(infos))
	}
	return &infos[0], nil
}

// transportError is a failure to reach a node or to hear back from it.
type transportError struct {
	outcome Outcome // Unreachable, TimedOut, Cancelled or Failed
	fatal   bool    // a protocol violation: retrying will not help
	err     error
}

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// busyError is a node's Busy answer.
type busyError struct{ after time.Duration }

func (e *busyError) Error() string { return fmt.Sprintf("busy (retry after %v)", e.after) }

// roundTrip sends req to the peer on protocol p and reads one answer of at
// most max bytes. Busy answers come back as *busyError, error answers as
// *da.RefusalError, failures to connect or to hear back as *transportError.
// sent reports whether the whole request was written.
func roundTrip(ctx context.Context, h host.Host, pi *peer.AddrInfo, p protocol.ID, req da.Message, dialTimeout time.Duration, max int) (ans da.Message, sent bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	err = h.Connect(dctx, *pi)
	cancel()
	if err != nil {
		return nil, false, classify(ctx, Unreachable, fmt.Errorf("dialing: %w", err))
	}
	s, err := h.NewStream(ctx, pi.ID, p)
	if err != nil {
		return nil, false, classify(ctx, Unreachable, fmt.Errorf("opening a %s stream: %w", p, err))
	}
	defer s.Close()
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		s.SetDeadline(dl)
	}
	// Write while reading: a node may answer before it has read the request
	// (busy, too large), and then stops reading it.
	var written atomic.Bool
	werr := make(chan error, 1)
	go func() {
		err := da.WriteFrame(s, req)
		if err == nil {
			written.Store(true)
			err = s.CloseWrite()
		}
		werr <- err
	}()
	m, err := da.ReadMessage(s, max)
	select {
	case <-werr:
	default:
		s.Reset() // answered early: stop sending the rest
		<-werr
	}
	sent = written.Load()
	if err != nil {
		if errors.Is(err, da.ErrWire) || errors.Is(err, da.ErrMessageTooLarge) {
			return nil, sent, &transportError{outcome: Failed, fatal: true, err: fmt.Errorf("%w: %w", ErrMalformedAnswer, err)}
		}
		return nil, sent, classify(ctx, Failed, fmt.Errorf("reading the answer: %w", err))
	}
	switch a := m.(type) {
	case *da.Busy:
		return nil, sent, &busyError{time.Duration(a.RetryAfterMillis) * time.Millisecond}
	case *da.ErrorMessage:
		return nil, sent, a.Err()
	}
	return m, sent, nil
}

// classify marks err as a timeout when the context expired or the stream
// deadline passed, and as def otherwise.
func classify(ctx context.Context, def Outcome, err error) error {
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout()) {
		return &transportError{outcome: TimedOut, err: err}
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return &transportError{outcome: Cancelled, err: err}
	}
	return &transportError{outcome: def, err: err}
}

// Ask sends one request to one registered signer on protocol p and returns
// its answer, read up to max bytes, unchecked. A refusal comes back as a
// *da.RefusalError; OutcomeOf says what any other error means. The attempt
// is bounded by Config.FetchTimeout.
func (d *Dispatcher) Ask(ctx context.Context, info chain.SignerInfo, p protocol.ID, req da.Message, max int) (da.Message, error) {
	pi, err := addrInfo(info.Addrs)
	if err != nil {
		return nil, &transportError{outcome: Unreachable, fatal: true, err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.FetchTimeout)
	defer cancel()
	ans, _, err := roundTrip(ctx, d.host, pi, p, req, d.cfg.DialTimeout, max)
	return ans, err
}

// OutcomeOf classifies an error from Ask: Refused (the node said no; see
// da.RefusalError), Busy, Unreachable, TimedOut, Cancelled, or Failed (a
// malformed or oversized answer — errors.Is(err, ErrMalformedAnswer) — or
// a stream that broke).
func OutcomeOf(err error) Outcome {
	var te *transportError
	var be *busyError
	switch {
	case err == nil:
		return 0
	case refusal(err) != nil:
		return Refused
	case errors.As(err, &be):
		return Busy
	case errors.As(err, &te):
		return te.outcome
	}
	return Failed
}
