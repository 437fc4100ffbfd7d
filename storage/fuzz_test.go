package storage

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// Fuzz targets for every decoder of bytes read from disk: shard headers,
// record payloads, index entries, checkpoints and both manifests. Each must
// reject garbage without panicking, and whatever it accepts must survive a
// round trip.

func FuzzShardHeader(f *testing.F) {
	var b [headerSize]byte
	(&shardHeader{Shard: 1, K: 4, M: 2, Segment: 7, Offset: 4096, Seq: 99, PayloadLen: 1000, ShardLen: 250, DataCRC: 0xdeadbeef}).encode(b[:])
	f.Add(b[:])
	f.Add(make([]byte, headerSize))
	f.Add([]byte("ZGSH"))
	f.Fuzz(func(t *testing.T, in []byte) {
		h, err := decodeShardHeader(in)
		if err != nil {
			return
		}
		var out [headerSize]byte
		h.encode(out[:])
		if !bytes.Equal(out[:], in[:headerSize]) {
			t.Fatalf("accepted header does not re-encode to the same bytes")
		}
		if uint64(h.ShardLen)*uint64(h.K) < uint64(h.PayloadLen) {
			t.Fatalf("accepted a header whose shards cannot hold the payload")
		}
	})
}

func FuzzRecord(f *testing.F) {
	for _, tr := range []trailer{
		{Op: opPut, Flags: flagBatchEnd, KeyLen: 3, ValueLen: 5, Time: 1},
		{Op: opDelete, Flags: flagBatchEnd | flagHasEpoch, KeyLen: 3, Epoch: 9},
		{Op: opMove, KeyLen: 3, ValueLen: 5, CondA: 4, CondB: 800},
	} {
		p := make([]byte, int(tr.ValueLen)+int(tr.KeyLen)+trailerSize)
		tr.encode(p[len(p)-trailerSize:])
		f.Add(p)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		v, k, tr, err := decodeRecord(in)
		if err != nil {
			return
		}
		if len(v)+len(k)+trailerSize != len(in) || len(k) == 0 {
			t.Fatalf("accepted record with inconsistent lengths")
		}
		p := append(append(bytes.Clone(v), k...), make([]byte, trailerSize)...)
		tr.encode(p[len(p)-trailerSize:])
		if !bytes.Equal(p, in) {
			t.Fatalf("accepted record does not re-encode to the same bytes")
		}
	})
}

func FuzzIndexEntry(f *testing.F) {
	f.Add((&entry{Version: 3, Time: 5, ValueLen: 2, KeyLen: 1, Inline: []byte("hi")}).encode())
	f.Add((&entry{Version: 3, Time: 5, Epoch: 2, HasEpoch: true, ValueLen: 100, KeyLen: 4, Segment: 2, Offset: 96,
		Seq: 8, ShardLen: 36, PayloadLen: 144, CRCs: []uint32{1, 2, 3, 4, 5, 6}}).encode())
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := decodeEntry(in)
		if err != nil {
			return
		}
		e2, err := decodeEntry(e.encode())
		if err != nil || !reflect.DeepEqual(e, e2) {
			t.Fatalf("entry round trip: %v\n%+v\n%+v", err, e, e2)
		}
	})
}

func FuzzCheckpoint(f *testing.F) {
	f.Add(checkpoint{Segment: 3, Offset: 77, NextSeq: 9}.encode())
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := decodeCheckpoint(in)
		if err != nil {
			return
		}
		if !bytes.Equal(c.encode(), in) {
			t.Fatal("checkpoint round trip")
		}
	})
}

func FuzzVolumeManifest(f *testing.F) {
	b, _ := json.Marshal(volumeManifest{Format: volumeFormat, Store: newID(), Volume: newID(), Index: 1, Volumes: 3, K: 2, M: 1, Created: time.Unix(0, 0).UTC()})
	f.Add(b)
	f.Add([]byte(`{"format":"zgda-volume/1"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		v, err := decodeVolumeManifest(in)
		if err != nil {
			return
		}
		if v.Index < 0 || v.Index >= v.Volumes || v.K+v.M != v.Volumes || v.K < 1 {
			t.Fatalf("accepted an inconsistent manifest: %+v", v)
		}
		out, _ := json.Marshal(v)
		v2, err := decodeVolumeManifest(out)
		if err != nil || !v2.Created.Equal(v.Created) {
			t.Fatalf("manifest round trip: %v", err)
		}
		v2.Created = v.Created
		if v2 != v {
			t.Fatalf("manifest round trip: %+v != %+v", v2, v)
		}
	})
}

func FuzzStoreManifest(f *testing.F) {
	sm := storeManifest{Format: storeFormat, Store: newID(), K: 2, M: 1, Created: time.Unix(0, 0).UTC()}
	for i := 0; i < 3; i++ {
		sm.Volumes = append(sm.Volumes, volumeEntry{ID: newID(), Path: "/v"})
	}
	b, _ := json.Marshal(sm)
	f.Add(b)
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := decodeStoreManifest(in)
		if err != nil {
			return
		}
		if s.K < 1 || s.K+s.M != len(s.Volumes) {
			t.Fatalf("accepted an inconsistent store manifest")
		}
		if _, err := newCodec(s.K, s.M); err != nil && len(s.Volumes) <= maxVolumes {
			t.Fatalf("accepted shard counts the codec refuses: %v", err)
		}
	})
}
