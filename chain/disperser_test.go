package chain

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
)

// The disperser registry (docs/spec.md §6): genesis dispersers, a
// registration and a quota change by the registrar with consecutive
// nonces; anyone else's, a replay and a bad length are refused with the
// state unchanged.
func TestDisperserRegistry(t *testing.T) {
	h := newHarness(t, smallParams(), []uint64{64}, true)
	ctx := context.Background()
	query := func(path string, data []byte, out any) error {
		t.Helper()
		res, err := h.app.Query(ctx, &abci.QueryRequest{Path: path, Data: data})
		if err != nil {
			t.Fatal(err)
		}
		if res.Code != CodeOK {
			return &TxError{Code: res.Code, Log: res.Log}
		}
		return json.Unmarshal(res.Value, out)
	}
	key := DisperserKey{0xd1}
	var d DisperserInfo
	if err := query(QueryDisperser, key[:], &d); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unregistered key: %v", err)
	}
	if err := h.both(NewDisperserTx(testChainID, key, 1000, 1, h.keys[0])); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("signed by a signer, not the registrar: %v", err)
	}
	if err := h.both(NewDisperserTx(testChainID, key, 1000, 2, h.registrar)); !errors.Is(err, ErrBadNonce) {
		t.Fatalf("a new key with nonce 2: %v", err)
	}
	if err := h.both(NewDisperserTx("zgda-other", key, 1000, 1, h.registrar)); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("signed for another chain: %v", err)
	}
	first := NewDisperserTx(testChainID, key, 1000, 1, h.registrar)
	if err := h.both(first); err != nil {
		t.Fatal(err)
	}
	if err := query(QueryDisperser, key[:], &d); err != nil || d != (DisperserInfo{PubKey: key, Quota: 1000, Nonce: 1}) {
		t.Fatalf("registered: %+v %v", d, err)
	}
	if err := h.both(first); !errors.Is(err, ErrBadNonce) {
		t.Fatalf("replayed registration: %v", err)
	}
	if err := query(QueryDisperser, key[:], &d); err != nil || d.Nonce != 1 {
		t.Fatalf("a refused transaction changed the record: %+v %v", d, err)
	}
	if err := h.both(NewDisperserTx(testChainID, key, 0, 2, h.registrar)); err != nil {
		t.Fatal(err)
	}
	if err := query(QueryDisperser, key[:], &d); err != nil || d.Quota != 0 || d.Nonce != 2 {
		t.Fatalf("revoked: %+v %v", d, err)
	}
	var all []DisperserInfo
	if err := query(QueryDispersers, nil, &all); err != nil || len(all) != 1 || all[0].PubKey != key {
		t.Fatalf("list: %+v %v", all, err)
	}
	if err := query(QueryDisperser, key[:5], &d); !errors.Is(err, ErrMalformedTx) || !strings.Contains(err.Error(), "32-byte") {
		t.Fatalf("short key: %v", err)
	}
	raw := NewDisperserTx(testChainID, key, 5, 3, h.registrar)
	if _, err := DecodeTx(append(raw, 0)); !errors.Is(err, ErrMalformedTx) {
		t.Fatalf("a trailing byte: %v", err)
	}
}

func TestGenesisDispersers(t *testing.T) {
	g, err := ParseGenesisState([]byte(`{"dispersers":[{"pubkey":"0x` + strings.Repeat("ab", 32) + `","quota":7}]}`))
	if err != nil || len(g.Dispersers) != 1 || g.Dispersers[0].Quota != 7 || g.Dispersers[0].PubKey[0] != 0xab {
		t.Fatalf("%+v %v", g, err)
	}
	g.Dispersers = append(g.Dispersers, g.Dispersers[0])
	if err := g.Validate(testChainID); err == nil || !strings.Contains(err.Error(), "app_state.dispersers[1].pubkey: the same key as dispersers[0]") {
		t.Fatalf("duplicate: %v", err)
	}
	for _, bad := range []string{
		`{"dispersers":[{"pubkey":"0x12","quota":7}]}`,
		`{"dispersers":[{"pubkey":"0x` + strings.Repeat("ab", 32) + `","quota":7,"extra":1}]}`,
	} {
		if _, err := ParseGenesisState([]byte(bad)); err == nil || !strings.Contains(err.Error(), "app_state.dispersers[0]") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
