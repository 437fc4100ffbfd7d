package signer

import (
	"bytes"
	"fmt"
	"testing"
)

func BenchmarkSign(b *testing.B) {
	k, _ := KeyFromSeed(bytes.Repeat([]byte{1}, 32))
	msg := make([]byte, 90)
	b.ReportAllocs()
	for b.Loop() {
		k.Sign(msg)
	}
}

func BenchmarkVerify(b *testing.B) {
	k, _ := KeyFromSeed(bytes.Repeat([]byte{1}, 32))
	msg := make([]byte, 90)
	sig := k.Sign(msg)
	b.ReportAllocs()
	for b.Loop() {
		if !k.PublicKey().Verify(msg, sig) {
			b.Fatal("verify")
		}
	}
}

// BenchmarkFastAggregateVerify is a benchmark anchor (README, Benchmarks): blst
// FastAggregateVerify(100) ≈ 2.5 ms on a 2-core machine. It includes parsing
// (and subgroup-checking) the aggregate signature, as the chain must.
func BenchmarkFastAggregateVerify(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("signers=%d", n), func(b *testing.B) {
			msg := make([]byte, 90)
			pks := make([]*PublicKey, n)
			sigs := make([]*Signature, n)
			for i := range pks {
				k, _ := KeyFromSeed(bytes.Repeat([]byte{byte(i + 1)}, 32))
				pks[i] = k.PublicKey()
				sigs[i] = k.Sign(msg)
			}
			agg, _ := AggregateSignatures(sigs)
			raw := agg.Bytes()
			b.ReportAllocs()
			for b.Loop() {
				s, err := ParseSignature(raw[:])
				if err != nil || !FastAggregateVerify(pks, msg, s) {
					b.Fatal("verify")
				}
			}
		})
	}
}
