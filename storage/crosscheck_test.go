package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/klauspost/reedsolomon"
)

// TestParityMatchesKlauspost checks the integration, not the library: the
// shards this package writes must be exactly what reedsolomon.Split and
// Encode produce for the record payload (value ‖ key ‖ trailer) — same
// shard length, same zero padding, same parity — and each header's checksum
// must be plain CRC-32C of its shard.
func TestParityMatchesKlauspost(t *testing.T) {
	layouts := []struct{ vols, parity int }{{2, 0}, {3, 0}, {5, 2}, {6, 0}, {8, 3}}
	valueSizes := []int{4097, 10_000, 65_537, 1_000_003}
	for _, l := range layouts {
		for _, n := range valueSizes {
			t.Run(fmt.Sprintf("%dvol-m%d/%d", l.vols, l.parity, n), func(t *testing.T) {
				s, _ := openStore(t, storeCase{vols: l.vols, parity: l.parity})
				k, m := s.codec.k, s.codec.m
				key := fmt.Sprintf("cross/%d", n)
				val := value(key, 3, n)
				mustPut(t, s, key, val)
				e, raw := shardBytes(t, s, key)

				payloadLen := n + len(key) + trailerSize
				shardLen := (payloadLen + k - 1) / k
				if int(e.ShardLen) != shardLen || int(e.PayloadLen) != payloadLen {
					t.Fatalf("index: shard %d payload %d, want %d %d", e.ShardLen, e.PayloadLen, shardLen, payloadLen)
				}
				data := make([][]byte, k+m)
				for v, r := range raw {
					if len(r) != headerSize+shardLen {
						t.Fatalf("volume %d: record is %d bytes, want %d", v, len(r), headerSize+shardLen)
					}
					if got := binary.LittleEndian.Uint32(r[36:]); int(got) != shardLen {
						t.Fatalf("volume %d header shard length %d", v, got)
					}
					if got := binary.LittleEndian.Uint32(r[32:]); int(got) != payloadLen {
						t.Fatalf("volume %d header payload length %d", v, got)
					}
					if r[5] != byte(v) || r[6] != byte(k) || r[7] != byte(m) {
						t.Fatalf("volume %d header shard/k/m = %d/%d/%d", v, r[5], r[6], r[7])
					}
					data[v] = r[headerSize:]
					want := crc32.Checksum(data[v], crc32.MakeTable(crc32.Castagnoli))
					if got := binary.LittleEndian.Uint32(r[40:]); got != want {
						t.Fatalf("volume %d header checksum %08x, CRC-32C of shard %08x", v, got, want)
					}
				}
				joined := bytes.Join(data[:k], nil)
				payload := joined[:payloadLen]
				if !bytes.Equal(payload[:n], val) || string(payload[n:n+len(key)]) != key {
					t.Fatal("payload does not start with value ‖ key")
				}
				tr := payload[n+len(key):]
				if tr[0] != byte(opPut) || int(binary.LittleEndian.Uint16(tr[2:])) != len(key) || int(binary.LittleEndian.Uint32(tr[4:])) != n {
					t.Fatalf("trailer op/keyLen/valueLen = %d/%d/%d", tr[0], binary.LittleEndian.Uint16(tr[2:]), binary.LittleEndian.Uint32(tr[4:]))
				}
				if bytes.ContainsFunc(joined[payloadLen:], func(r rune) bool { return r != 0 }) {
					t.Fatal("padding is not zero")
				}

				enc, err := reedsolomon.New(k, m)
				if err != nil {
					t.Fatal(err)
				}
				want, err := enc.Split(bytes.Clone(payload))
				if err != nil {
					t.Fatal(err)
				}
				if err := enc.Encode(want); err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if !bytes.Equal(want[i], data[i]) {
						t.Fatalf("shard %d differs from klauspost's Split+Encode (first difference at %d)", i, firstDiff(want[i], data[i]))
					}
				}
				if ok, err := enc.Verify(data); !ok || err != nil {
					t.Fatalf("klauspost Verify of the stored shards: %v %v", ok, err)
				}
			})
		}
	}
}
