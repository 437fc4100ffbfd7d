package chain

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/zgda/zgda/da"
)

// sampleTxs has one well-formed transaction of each type.
func sampleTxs(t testing.TB) map[string][]byte {
	reg, err := NewRegisterTx(testChainID, testKey(t, 40), 10, 1, []string{"/ip4/1.2.3.4/tcp/1"}, testKey(t, 41))
	if err != nil {
		t.Fatal(err)
	}
	c := &da.Certificate{Epoch: 1, Quorum: 0, Blobs: blobs("sample", 3, 2), Signers: da.NewBitmap(0, 1, 2)}
	c.BatchRoot, _ = da.BatchRoot(c.Blobs)
	c.Signature = testKey(t, 0).Sign([]byte("x")).Bytes()
	return map[string][]byte{
		"register":  reg,
		"vrf":       NewVRFTx(testChainID, testKey(t, 42), 3, da.Hash{7}),
		"cert":      certTx(t, c),
		"disperser": NewDisperserTx(testChainID, DisperserKey{1, 2, 3}, 1<<30, 1, testKey(t, 41)),
	}
}

func TestTxRoundTrip(t *testing.T) {
	for name, raw := range sampleTxs(t) {
		tx, err := DecodeTx(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(EncodeTx(tx), raw) {
			t.Fatalf("%s: re-encoding differs", name)
		}
	}
}

// Garbage, truncated and oversized transactions get a clear CheckTx error
// and change nothing.
func TestBadTransactions(t *testing.T) {
	h := newHarness(t, smallParams(), []uint64{64}, true)
	before := h.app.AppHash()
	check := func(name string, tx []byte, code uint32, says string) {
		t.Helper()
		res, err := h.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: tx})
		if err != nil {
			t.Fatal(err)
		}
		if res.Code != code || res.Codespace != Codespace || !strings.Contains(res.Log, says) {
			t.Errorf("%s: code %d %q, want code %d saying %q", name, res.Code, res.Log, code, says)
		}
	}
	check("empty", nil, CodeMalformed, "too short")
	check("one byte", []byte{1}, CodeMalformed, "too short")
	check("garbage", []byte("hello, chain"), CodeMalformed, "version 104")
	check("unknown type", []byte{1, 9, 0, 0}, CodeMalformed, "unknown transaction type 9")
	check("oversized", make([]byte, MaxTxSize+1), CodeTooLarge, "at most 131072 allowed")
	big := append([]byte{1, 3}, bytes.Repeat([]byte{0xff}, MaxTxSize-2)...)
	check("largest size, garbage certificate", big, CodeMalformed, "certificate")
	for name, raw := range sampleTxs(t) {
		for n := 0; n < len(raw); n++ {
			res, _ := h.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: raw[:n]})
			if res.Code != CodeMalformed || res.Log == "" {
				t.Fatalf("%s truncated to %d bytes: code %d %q", name, n, res.Code, res.Log)
			}
		}
		check(name+" with a trailing byte", append(append([]byte(nil), raw...), 0), CodeMalformed, "")
	}
	// Register: address limits are checked.
	reg, _ := DecodeTx(sampleTxs(t)["register"])
	rt := reg.(*RegisterTx)
	rt.Addrs = []string{"has space"}
	check("address with a space", EncodeTx(rt), CodeMalformed, "not printable")
	rt.Addrs = make([]string, MaxAddrs+1)
	for i := range rt.Addrs {
		rt.Addrs[i] = "a"
	}
	check("too many addresses", EncodeTx(rt), CodeMalformed, "addresses")
	// Garbage in a block is rejected there too, and the state is unchanged
	// apart from the block itself.
	errs := h.block([]byte("garbage"), make([]byte, MaxTxSize+1))
	wantErr(t, "garbage in a block", errs[0], ErrMalformedTx)
	wantErr(t, "oversized in a block", errs[1], ErrTxTooLarge)
	if bytes.Equal(before, h.app.AppHash()) {
		t.Fatal("app hash did not advance with the block")
	}
	var n []SignerInfo
	if err := h.query(QuerySigners, nil, &n); err != nil || len(n) != 1 {
		t.Fatalf("signers after garbage: %d %v", len(n), err)
	}
}

func TestTxErrorCodesRoundTrip(t *testing.T) {
	for _, c := range codes {
		err := (&TxError{Code: c.code, Log: "x"})
		if !errors.Is(err, c.err) || codeOf(c.err) != c.code {
			t.Errorf("code %d ↔ %v", c.code, c.err)
		}
	}
	if codeOf(&SlotsError{}) != CodeInsufficientSlots {
		t.Error("SlotsError code")
	}
}

func FuzzDecodeTx(f *testing.F) {
	for _, raw := range sampleTxs(f) {
		f.Add(raw)
	}
	f.Add([]byte{1, 1})
	f.Add([]byte{1, 2})
	f.Add([]byte{1, 3, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := DecodeTx(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedTx) && !errors.Is(err, ErrTxTooLarge) {
				t.Fatalf("error %v is neither malformed nor too large", err)
			}
			return
		}
		if out := EncodeTx(tx); !bytes.Equal(out, b) {
			t.Fatalf("decoded %s re-encodes differently:\n%s\n%s", tx.Type(), hex.EncodeToString(b), hex.EncodeToString(out))
		}
	})
}
