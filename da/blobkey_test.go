package da

import (
	"strings"
	"testing"
)

func TestParseBlobKey(t *testing.T) {
	good := "0x" + "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	k, err := ParseBlobKey(good)
	if err != nil {
		t.Fatal(err)
	}
	if k.String() != good {
		t.Fatalf("round trip: got %s", k)
	}
	for name, s := range map[string]string{
		"no prefix": good[2:],
		"short":     good[:40],
		"long":      good + "00",
		"not hex":   "0x" + "zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"empty":     "",
	} {
		if _, err := ParseBlobKey(s); err == nil {
			t.Errorf("%s: accepted %q", name, s)
		}
	}
}

func FuzzParseBlobKey(f *testing.F) {
	f.Add("0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
	f.Add("0x")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseBlobKey(s)
		if err == nil && !strings.EqualFold(k.String(), s) {
			t.Fatalf("accepted %q but renders %q", s, k.String())
		}
	})
}
