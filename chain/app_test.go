package chain

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
)

// Two apps fed the same blocks agree on every app hash; reopening one from
// disk keeps its height, hash and state; a different block diverges.
func TestAppHashDeterministicAndDurable(t *testing.T) {
	p := smallParams()
	p.EpochLength = 3
	a := newHarness(t, p, []uint64{64, 64, 64}, true)
	b := newHarness(t, p, []uint64{64, 64, 64}, true)
	if !bytes.Equal(a.app.AppHash(), b.app.AppHash()) {
		t.Fatal("genesis app hashes differ")
	}
	c := certify(t, a.keys, testChainID, 0, 0, blobs("det", 4, 2), 0, 1, 2)
	reg, _ := NewRegisterTx(testChainID, testKey(t, 30), 64, 1, []string{"/ip4/127.0.0.1/tcp/1"}, a.registrar)
	plan := [][][]byte{{}, {certTx(t, c), reg}, {[]byte("junk")}, {}, {}, {}}
	for i, txs := range plan {
		a.block(txs...)
		b.block(txs...)
		if !bytes.Equal(a.app.AppHash(), b.app.AppHash()) {
			t.Fatalf("block %d: app hashes differ", i+1)
		}
	}
	height, hash := a.app.Height(), a.app.AppHash()
	a.app.Close()
	a.open()
	info, err := a.app.Info(context.Background(), &abci.InfoRequest{})
	if err != nil || info.LastBlockHeight != height || !bytes.Equal(info.LastBlockAppHash, hash) {
		t.Fatalf("after reopen: %+v %v", info, err)
	}
	var rec CertificateRecord
	if err := a.query(QueryCertificate, c.BatchRoot[:], &rec); err != nil || rec.Height != 2 {
		t.Fatalf("certificate after reopen: %v %+v", err, rec)
	}
	var signers []SignerInfo
	if err := a.query(QuerySigners, nil, &signers); err != nil || len(signers) != 4 {
		t.Fatalf("signers after reopen: %v %d", err, len(signers))
	}
	a.block()
	b.block()
	if !bytes.Equal(a.app.AppHash(), b.app.AppHash()) {
		t.Fatal("app hashes differ after reopen")
	}
	a.block(NewVRFTx(testChainID, a.keys[0], 3, a.epoch(3).Seed))
	b.block()
	if bytes.Equal(a.app.AppHash(), b.app.AppHash()) {
		t.Fatal("different blocks, same app hash")
	}
}

func TestGenesisValidationNamesTheField(t *testing.T) {
	k := testKey(t, 1)
	good := NewGenesisSigner(testChainID, k, 10, nil)
	for _, tc := range []struct {
		name string
		json string
		want string
	}{
		{"unknown field", `{"params":{"epoch_lenght":5}}`, `unknown field "epoch_lenght"`},
		{"zero epoch length", `{"params":{"epoch_length":0}}`, "params.epoch_length"},
		{"quorum size not a power of two", `{"params":{"quorum_size":1000}}`, "params.quorum_size"},
		{"quorum size below 1024", `{"params":{"quorum_size":512,"min_batch_slots":256}}`, "params.quorum_size"},
		{"quorum size above 65536", `{"params":{"quorum_size":131072}}`, "params.quorum_size"},
		{"min batch slots 0", `{"params":{"min_batch_slots":0}}`, "params.min_batch_slots"},
		{"min batch slots above the quorum size", `{"params":{"min_batch_slots":1025}}`, "params.min_batch_slots: 1025, want 1 to quorum_size (1024)"},
		{"negative availability", `{"params":{"availability_epochs":-1}}`, "availability_epochs"},
		{"threshold below 2/3", `{"params":{"threshold":{"num":1,"den":2}}}`, "params.threshold"},
		{"bad registrar", `{"registrar":"0x1234"}`, "public key"},
	} {
		g, err := ParseGenesisState([]byte(tc.json))
		if err == nil {
			err = g.Validate(testChainID)
		}
		if err == nil || !contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to name %q", tc.name, err, tc.want)
		}
	}
	for _, tc := range []struct {
		name   string
		mutate func(g *GenesisSigner)
		want   string
	}{
		{"bad pop", func(g *GenesisSigner) { g.PoP = k.ProvePossession().Bytes() }, "app_state.signers[1].pop"},
		{"bad vrf", func(g *GenesisSigner) { v := k.Sign([]byte("x")).Bytes(); g.VRF = &v }, "app_state.signers[1].vrf"},
		{"bad key", func(g *GenesisSigner) { g.PubKey[0] ^= 0x1f }, "app_state.signers[1].pubkey"},
		{"bad address", func(g *GenesisSigner) { g.Addrs = []string{""} }, "app_state.signers[1].addrs"},
		{"duplicate", func(g *GenesisSigner) { *g = good }, "the same key as signers[0]"},
		{"none", func(g *GenesisSigner) {}, ""},
	} {
		s := NewGenesisSigner(testChainID, testKey(t, 2), 10, []string{"/ip4/127.0.0.1/tcp/1"})
		tc.mutate(&s)
		g := DefaultGenesisState()
		g.Signers = []GenesisSigner{good, s}
		err := g.Validate(testChainID)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want it to name %q", tc.name, err, tc.want)
		}
	}
	g := DefaultGenesisState()
	g.Signers = []GenesisSigner{good}
	if err := g.Validate("zgda-other"); err == nil || !contains(err.Error(), "signers[0].vrf") {
		t.Errorf("epoch-0 VRF from another chain: %v", err)
	}
}

// The v2 parameters (docs/spec.md §6): M a power of two from 1024, 1 ≤ W ≤
// M, availability_epochs any count (0: unbounded); left out, the defaults.
func TestParamsBounds(t *testing.T) {
	g, err := ParseGenesisState([]byte(`{"params":{"epoch_length":5}}`))
	if err != nil {
		t.Fatal(err)
	}
	if p := g.Params; p.MinBatchSlots != 256 || p.QuorumSize != 1024 || p.AvailabilityEpochs != DefaultAvailabilityEpochs || p.EpochLength != 5 {
		t.Fatalf("defaults: %+v", p)
	}
	for _, tc := range []struct {
		m, w uint32
		ok   bool
	}{
		{1024, 1, true}, {1024, 256, true}, {1024, 1024, true}, {1024, 1025, false}, {1024, 0, false},
		{2048, 2048, true}, {2048, 2049, false}, {65536, 256, true}, {65536, 65536, true},
		{512, 256, false}, {1 << 17, 256, false}, {1536, 256, false}, {0, 0, false},
	} {
		p := DefaultParams()
		p.QuorumSize, p.MinBatchSlots = tc.m, tc.w
		if err := p.ValidateBasic(); (err == nil) != tc.ok {
			t.Errorf("M = %d, W = %d: %v, want ok = %v", tc.m, tc.w, err, tc.ok)
		}
	}
	p := DefaultParams()
	p.AvailabilityEpochs = 1 << 40
	if err := p.ValidateBasic(); err != nil {
		t.Errorf("availability_epochs 2^40: %v", err)
	}
	// A certificate accepted cert_epoch_window epochs late must be inside
	// the window: a shorter bounded window is refused, 0 (unbounded) is not.
	for _, tc := range []struct {
		cert, avail uint64
		ok          bool
	}{{1, 1, true}, {1, 0, true}, {4, 3, false}, {4, 4, true}, {0, 1, true}} {
		p := DefaultParams()
		p.CertEpochWindow, p.AvailabilityEpochs = tc.cert, tc.avail
		err := p.ValidateBasic()
		if (err == nil) != tc.ok || err != nil && !contains(err.Error(), "params.availability_epochs") {
			t.Errorf("cert_epoch_window %d, availability_epochs %d: %v, want ok = %v", tc.cert, tc.avail, err, tc.ok)
		}
	}
	g, err = ParseGenesisState([]byte(`{"params":{"availability_epochs":7,"min_batch_slots":1024}}`))
	if err != nil || g.Params.AvailabilityEpochs != 7 || g.Params.MinBatchSlots != 1024 {
		t.Fatalf("parsed %+v (%v)", g, err)
	}
}

// Query marshals its answer (a whole epoch's quorums can be megabytes of
// JSON) without the app's lock: blocks and CheckTx go on meanwhile.
func TestQueryMarshalsOutsideTheLock(t *testing.T) {
	h := newHarness(t, smallParams(), []uint64{64, 64}, false)
	h.block()
	inHook, release := make(chan struct{}), make(chan struct{})
	queryMarshalHook = func() {
		close(inHook)
		<-release
	}
	t.Cleanup(func() { queryMarshalHook = nil })
	done := make(chan *EpochInfo)
	go func() {
		res, err := h.app.Query(context.Background(), &abci.QueryRequest{Path: QueryEpoch, Data: binary.BigEndian.AppendUint64(nil, 0)})
		var info EpochInfo
		if err != nil || res.Code != CodeOK || json.Unmarshal(res.Value, &info) != nil {
			t.Errorf("query: %v %+v", err, res)
		}
		done <- &info
	}()
	<-inHook
	locked := make(chan int64)
	go func() { locked <- h.app.Height() }()
	select {
	case got := <-locked:
		if got != 1 {
			t.Errorf("height %d during the query, want 1", got)
		}
	case <-time.After(10 * time.Second):
		close(release)
		<-done
		<-locked
		t.Fatal("the app's lock is held while a query marshals its answer")
	}
	close(release)
	if info := <-done; len(info.Quorums) != 1 || len(info.Quorums[0]) != int(smallParams().QuorumSize) {
		t.Fatalf("epoch 0 answer: %+v", info)
	}
}
