package node_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/zgda/zgda/da"
	"github.com/zgda/zgda/dispersal"
	"github.com/zgda/zgda/signer/node"
)

// trickler is a peer that opens a dispersal stream, sends a frame header
// claiming the largest request and then one byte of payload every 100 ms
// (a slowloris). answered is closed when the node answers or drops it.
type trickler struct {
	s        network.Stream
	stop     chan struct{}
	done     sync.WaitGroup
	answered chan struct{}
	answer   da.Message
}

// newHostFor is a host of its own registered disperser identity, connected
// to nd: the slow streams come from registered dispersers, the worst case.
func (c *cluster) newHostFor(t *testing.T, nd *node.Node) host.Host {
	t.Helper()
	h, err := dispersal.NewHost(c.nextID(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	ai := peer.AddrInfo{ID: nd.PeerID()}
	for _, a := range nd.Addrs() {
		info, err := peer.AddrInfoFromString(a)
		if err != nil {
			t.Fatal(err)
		}
		ai.Addrs = append(ai.Addrs, info.Addrs...)
	}
	if err := h.Connect(ctxT(t, 10*time.Second), ai); err != nil {
		t.Fatal(err)
	}
	return h
}

func startTrickler(t *testing.T, h host.Host, nd *node.Node) *trickler {
	t.Helper()
	s, err := h.NewStream(ctxT(t, 10*time.Second), nd.PeerID(), da.ProtocolDisperse)
	if err != nil {
		t.Fatal(err)
	}
	tr := &trickler{s: s, stop: make(chan struct{}), answered: make(chan struct{})}
	head := binary.BigEndian.AppendUint32(nil, da.MaxDisperseRequestSize)
	if _, err := s.Write(append(head, da.WireVersion, byte(da.MsgDisperseRequest))); err != nil {
		t.Fatal(err)
	}
	tr.done.Add(2)
	go func() {
		defer tr.done.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tr.stop:
				return
			case <-tr.answered:
				return
			case <-tick.C:
				if _, err := s.Write([]byte{0}); err != nil {
					return
				}
			}
		}
	}()
	go func() {
		defer tr.done.Done()
		tr.answer, _ = da.ReadMessage(s, da.MaxAnswerSize)
		close(tr.answered)
	}()
	t.Cleanup(tr.close)
	return tr
}

func (tr *trickler) isAnswered() bool {
	select {
	case <-tr.answered:
		return true
	default:
		return false
	}
}

func (tr *trickler) close() {
	select {
	case <-tr.stop:
		return
	default:
	}
	close(tr.stop)
	tr.s.Reset()
	tr.done.Wait()
}

// waitHeld waits until every trickler is either held by the node (past its
// frame header) or answered.
func waitHeld(t *testing.T, nd *node.Node, trs []*trickler) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		answered := 0
		for _, tr := range trs {
			if tr.isAnswered() {
				answered++
			}
		}
		if nd.PendingDispersals()+answered >= len(trs) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d slow streams held, %d answered", nd.PendingDispersals(), len(trs), answered)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// signed sends fresh's request to nd, as a dispersal client would (retrying
// after Busy as the node asks, for up to 10 s), and returns how long it took
// to be signed.
func (c *cluster) signed(t *testing.T, nd *node.Node, seed uint64) (time.Duration, int) {
	t.Helper()
	b := encodeBatch(t, seed, 1000, 50_000)
	req := c.requestFor(b, nd.Index())
	var buf bytes.Buffer
	if err := da.WriteFrame(&buf, req); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for tries := 1; ; tries++ {
		ans, err := c.sendRaw(nd, da.ProtocolDisperse, buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		switch a := ans.(type) {
		case *da.DisperseResponse:
			if !a.OK {
				t.Fatalf("refused: %v %s", a.Code, a.Reason)
			}
			return time.Since(start), tries
		case *da.Busy:
			if time.Since(start) > 10*time.Second {
				t.Fatalf("still busy after %v and %d tries", time.Since(start), tries)
			}
			time.Sleep(time.Duration(a.RetryAfterMillis) * time.Millisecond) // the client's retry pacing
		default:
			t.Fatalf("answer %#v", ans)
		}
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// Slow or idle dispersal streams, more of them than the node has dispersal
// slots, from distinct peers, do not delay an honest dispersal: it is signed
// about as fast as on an idle node. One peer cannot open more than its share
// of streams.
func TestSlowStreamsDoNotStarve(t *testing.T) {
	c := newCluster(t, 1, nil)
	nd := c.nodes[0]
	const rounds = 5
	c.signed(t, nd, 100) // warm up
	var idle []time.Duration
	for i := range rounds {
		d, _ := c.signed(t, nd, uint64(200+i))
		idle = append(idle, d)
	}

	var trs []*trickler
	for range 4 { // TestConfig has 2 dispersal slots
		trs = append(trs, startTrickler(t, c.newHostFor(t, nd), nd))
	}
	waitHeld(t, nd, trs)
	var slow []time.Duration
	for i := range rounds {
		d, tries := c.signed(t, nd, uint64(300+i))
		if tries != 1 {
			t.Errorf("round %d: signed after %d tries", i, tries)
		}
		slow = append(slow, d)
	}
	held := 0
	for _, tr := range trs {
		if !tr.isAnswered() {
			held++
		}
	}
	mi, ms := median(idle), median(slow)
	t.Logf("honest dispersal: idle median %v %v; with 4 slow streams (%d still open) median %v %v", mi, idle, held, ms, slow)
	// 1.5× the idle latency, with 100 ms of slack for a loaded test machine.
	if ms > mi*3/2+100*time.Millisecond || ms > 5*time.Second {
		t.Fatalf("with slow streams open an honest dispersal took %v, idle %v", ms, mi)
	}
	if held != len(trs) {
		t.Logf("%d slow streams were answered", len(trs)-held)
	}

	t.Run("no frame header", func(t *testing.T) {
		s, err := c.newHostFor(t, nd).NewStream(ctxT(t, 10*time.Second), nd.PeerID(), da.ProtocolDisperse)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Reset()
		start := time.Now()
		s.Write([]byte{0, 0}) // half a frame header, then nothing
		s.SetReadDeadline(start.Add(10 * time.Second))
		ans, err := da.ReadMessage(s, da.MaxAnswerSize)
		took := time.Since(start)
		r, ok := ans.(*da.DisperseResponse)
		if err != nil || !ok || r.Code != da.CodeMalformed || !strings.Contains(r.Reason, "no frame header within") {
			t.Fatalf("answer %#v: %v", ans, err)
		}
		t.Logf("refused after %v (header timeout %v)", took, time.Duration(node.TestLimitsConfig().HeaderTimeout))
		if took < time.Duration(node.TestLimitsConfig().HeaderTimeout)*9/10 {
			t.Fatalf("refused after %v, before the header timeout", took)
		}
	})

	t.Run("per peer", func(t *testing.T) {
		h := c.newHostFor(t, nd)
		a, b := startTrickler(t, h, nd), startTrickler(t, h, nd)
		waitHeld(t, nd, []*trickler{trs[0], trs[1], trs[2], trs[3], a, b})
		third := startTrickler(t, h, nd)
		select {
		case <-third.answered:
		case <-time.After(10 * time.Second):
			t.Fatal("a peer's third slow stream was not refused")
		}
		if _, ok := third.answer.(*da.Busy); !ok || a.isAnswered() || b.isAnswered() {
			t.Fatalf("third stream answered %#v; first two answered: %v %v", third.answer, a.isAnswered(), b.isAnswered())
		}
	})
}

// libp2p's resource manager is on, with the limits of the node's config: a
// node that takes 2 inbound connections refuses a third peer until one of
// the first two leaves, and a node's default limits admit a dispersal.
func TestResourceManagerLimitsConnections(t *testing.T) {
	c := newCluster(t, 1, nil)
	ctx := ctxT(t, 60*time.Second)
	c.stop(0)
	nd, err := c.startNodeWith(ctx, 0, func(cfg *node.Config) { cfg.P2P.MaxConns, cfg.P2P.MaxConnsPerPeer = 2, 1 })
	if err != nil {
		t.Fatal(err)
	}
	c.nodes[0] = nd
	ai := peer.AddrInfo{ID: nd.PeerID()}
	for _, a := range nd.Addrs() {
		info, err := peer.AddrInfoFromString(a)
		if err != nil {
			t.Fatal(err)
		}
		ai.Addrs = append(ai.Addrs, info.Addrs...)
	}
	dial := func() (host.Host, error) {
		h, err := dispersal.NewHost(c.nextID(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return h, h.Connect(dctx, ai)
	}
	first, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dial(); err != nil {
		t.Fatal(err)
	}
	third, err := dial()
	if err == nil {
		// The refusal may come just after the handshake: the connection
		// is then closed under the dialer.
		deadline := time.Now().Add(5 * time.Second)
		for third.Network().Connectedness(ai.ID) == network.Connected && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if third.Network().Connectedness(ai.ID) == network.Connected {
			t.Fatal("a third inbound connection was kept on a node with p2p.max_conns 2")
		}
	}
	first.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h, err := dial()
		if err == nil && h.Network().Connectedness(ai.ID) == network.Connected {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no room after a peer left: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // until the node sees the closed connection
	}
}
