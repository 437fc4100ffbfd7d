package chain

import (
	"bytes"
	"context"
	"testing"

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
