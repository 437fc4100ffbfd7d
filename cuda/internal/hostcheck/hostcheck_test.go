package hostcheck

import (
	"context"
	"math/big"
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr/fft"

	"github.com/zgda/zgda/encoder"
)

func rng(t testing.TB) *rand.Rand {
	t.Helper()
	return rand.New(rand.NewPCG(0x7a6764, uint64(len(t.Name()))))
}

func randElem(r *rand.Rand) fr.Element {
	var b [32]byte
	for i := 0; i < 4; i++ {
		u := r.Uint64()
		for j := 0; j < 8; j++ {
			b[8*i+j] = byte(u >> (8 * j))
		}
	}
	var x fr.Element
	x.SetBytes(b[:]) // reduces mod r
	return x
}

func randVec(r *rand.Rand, n int) []fr.Element {
	v := make([]fr.Element, n)
	for i := range v {
		v[i] = randElem(r)
	}
	return v
}

// edgeElems are values that stress carries and reductions, both as integers
// (0, 1, p−1, …) and as raw Montgomery limbs (limbs p−1, limbs 1, …).
func edgeElems() []fr.Element {
	var out []fr.Element
	set := func(s string) {
		var x fr.Element
		if _, err := x.SetString(s); err != nil {
			panic(err)
		}
		out = append(out, x)
	}
	set("0")
	set("1")
	set("2")
	set("-1")
	set("-2")
	set("18446744073709551615")                                                          // 2^64 − 1
	set("340282366920938463463374607431768211456")                                       // 2^128
	set("26217937587563095239723870254092982918845276250263818911301829349969290592256") // (p−1)/2
	set("26217937587563095239723870254092982918845276250263818911301829349969290592257") // (p+1)/2
	q := fr.Modulus()
	ql := [4]uint64{}
	for i, w := range q.Bits() {
		ql[i] = uint64(w)
	}
	out = append(out,
		fr.Element{ql[0] - 1, ql[1], ql[2], ql[3]}, // limbs p−1
		fr.Element{ql[0] - 2, ql[1], ql[2], ql[3]},
		fr.Element{1, 0, 0, 0},
		fr.Element{^uint64(0), ^uint64(0), ^uint64(0), 0},
		fr.Element{0, 0, 0, ql[3] - 1},
		fr.Element{^uint64(0), ql[1] - 1, ql[2], ql[3]},
	)
	for _, x := range out {
		if !x.IsZero() && !smallerThanModulus(x) {
			panic("edge element not reduced")
		}
	}
	return out
}

func smallerThanModulus(x fr.Element) bool {
	var b big.Int
	limbs := make([]big.Word, 4)
	for i := range limbs {
		limbs[i] = big.Word(x[i])
	}
	b.SetBits(limbs)
	return b.Cmp(fr.Modulus()) < 0
}

// pairs returns all edge×edge pairs followed by n random pairs.
func pairs(r *rand.Rand, n int) (a, b []fr.Element) {
	e := edgeElems()
	for _, x := range e {
		for _, y := range e {
			a = append(a, x)
			b = append(b, y)
		}
	}
	for _, x := range e {
		a = append(a, x)
		b = append(b, randElem(r))
	}
	return append(a, randVec(r, n)...), append(b, randVec(r, n)...)
}

func compare(t *testing.T, what string, got, want []fr.Element, in ...[]fr.Element) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d results, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if got[i] != want[i] {
			if bad < 5 {
				args := ""
				for _, v := range in {
					args += " " + v[i].String()
				}
				t.Errorf("%s[%d](%s): got limbs %x, want %x (%s)", what, i, args, got[i], want[i], want[i].String())
			}
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d of %d differ", what, bad, len(got))
	}
}

func TestConstants(t *testing.T) {
	one := fr.One()
	if got := FromUint64(1); got != one {
		t.Fatalf("one: got %x, want %x", got, one)
	}
	r := rng(t)
	for i := 0; i < 1000; i++ {
		v := r.Uint64()
		if i < 3 {
			v = []uint64{0, 1, ^uint64(0)}[i]
		}
		var want fr.Element
		want.SetUint64(v)
		if got := FromUint64(v); got != want {
			t.Fatalf("FromUint64(%d) = %x, want %x", v, got, want)
		}
	}
}

func TestBinary(t *testing.T) {
	a, b := pairs(rng(t), 20000)
	for _, tc := range []struct {
		name string
		op   Op
		ref  func(z, x, y *fr.Element)
	}{
		{"add", Add, func(z, x, y *fr.Element) { z.Add(x, y) }},
		{"sub", Sub, func(z, x, y *fr.Element) { z.Sub(x, y) }},
		{"mul", Mul, func(z, x, y *fr.Element) { z.Mul(x, y) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := make([]fr.Element, len(a))
			for i := range a {
				tc.ref(&want[i], &a[i], &b[i])
			}
			compare(t, tc.name, Binary(tc.op, a, b), want, a, b)
		})
	}
}

func TestUnary(t *testing.T) {
	r := rng(t)
	a := append(edgeElems(), randVec(r, 5000)...)
	canon := make([]fr.Element, len(a)) // a's canonical limbs, as a raw "element"
	for i := range a {
		canon[i] = fr.Element(a[i].Bits())
	}
	for _, tc := range []struct {
		name string
		op   Op
		in   []fr.Element
		ref  func(i int) fr.Element
	}{
		{"sqr", Sqr, a, func(i int) (z fr.Element) { return *z.Square(&a[i]) }},
		{"neg", Neg, a, func(i int) (z fr.Element) { return *z.Neg(&a[i]) }},
		{"inverse", Inverse, a[:200], func(i int) (z fr.Element) { return *z.Inverse(&a[i]) }},
		{"to_mont", ToMont, canon, func(i int) fr.Element { return a[i] }},
		{"from_mont", FromMont, a, func(i int) fr.Element { return canon[i] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := make([]fr.Element, len(tc.in))
			for i := range want {
				want[i] = tc.ref(i)
			}
			compare(t, tc.name, Unary(tc.op, tc.in), want, tc.in)
		})
	}
}

func TestPow(t *testing.T) {
	r := rng(t)
	bases := append(edgeElems(), randVec(r, 30)...)
	for i, a := range bases {
		e := []uint64{r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()}
		switch i % 4 {
		case 0:
			e = e[:1]
		case 1:
			e = []uint64{uint64(i)}
		}
		var eb big.Int
		words := make([]big.Word, len(e))
		for j := range e {
			words[j] = big.Word(e[j])
		}
		eb.SetBits(words)
		var want fr.Element
		want.Exp(a, &eb)
		if got := Pow(a, e); got != want {
			t.Fatalf("%s^%s: got %x, want %x", a.String(), eb.String(), got, want)
		}
	}
}

func TestRootsOfUnity(t *testing.T) {
	for l := uint(0); l <= 32; l++ {
		want, err := fr.Generator(uint64(1) << l)
		if err != nil {
			t.Fatal(err)
		}
		if got := RootOfUnity(l); got != want {
			t.Fatalf("ω_2^%d: got %s, want gnark's %s", l, got.String(), want.String())
		}
		if l >= 1 && l <= 13 {
			if d := fft.NewDomain(uint64(1) << l); d.Generator != want {
				t.Fatalf("fft.NewDomain(2^%d).Generator differs from fr.Generator", l)
			}
		}
	}
	tw := Twiddles()
	w, _ := fr.Generator(8192)
	var x fr.Element
	x.SetOne()
	for i := range tw {
		if tw[i] != x {
			t.Fatalf("tw[%d] = %s, want ω_8192^%d = %s", i, tw[i].String(), i, x.String())
		}
		x.Mul(&x, &w)
	}
	if !x.IsOne() {
		t.Fatal("ω_8192 has order ≠ 8192")
	}
}

func brp(i, logN int) int {
	if logN == 0 {
		return 0
	}
	return int(bits.Reverse64(uint64(i)) >> (64 - logN))
}

// TestNTTNaive checks the conventions on small sizes against a direct
// evaluation, independent of gnark: forward maps coefficients c to
// a[j] = Σ c_i·ω^(i·brp(j)); inverse undoes it.
func TestNTTNaive(t *testing.T) {
	r := rng(t)
	for logN := 0; logN <= 6; logN++ {
		n := 1 << logN
		w := RootOfUnity(uint(logN))
		c := randVec(r, n)
		want := make([]fr.Element, n)
		for j := range want {
			var x, p fr.Element
			x.Exp(w, big.NewInt(int64(brp(j, logN))))
			p.SetOne()
			for i := 0; i < n; i++ {
				var tm fr.Element
				tm.Mul(&c[i], &p)
				want[j].Add(&want[j], &tm)
				p.Mul(&p, &x)
			}
		}
		got := append([]fr.Element(nil), c...)
		NTTForward(got, Layout{LogN: uint(logN), Count: 1, ElemStride: 1, VecStride: n})
		compare(t, "forward", got, want)
		NTTInverse(got, Layout{LogN: uint(logN), Count: 1, ElemStride: 1, VecStride: n})
		compare(t, "inverse", got, c)
	}
}

// TestNTTGnark compares with gnark's FFTs (DIF: natural → bit-reversed; DIT
// inverse: bit-reversed → natural) on every size up to 8192, for vectors laid
// out as rows (contiguous) and as columns (strided, interleaved).
func TestNTTGnark(t *testing.T) {
	r := rng(t)
	for logN := 1; logN <= 13; logN++ {
		n := 1 << logN
		d := fft.NewDomain(uint64(n))
		count := max(1, 2048>>logN)
		for _, shape := range []string{"rows", "columns"} {
			l := Layout{LogN: uint(logN), Count: count, ElemStride: 1, VecStride: n}
			if shape == "columns" {
				l.ElemStride, l.VecStride = count, 1
			}
			buf := randVec(r, n*count)
			if logN == 4 { // an all-edge vector
				copy(buf, edgeElems())
			}
			vec := func(b []fr.Element, v int) []fr.Element {
				out := make([]fr.Element, n)
				for i := range out {
					out[i] = b[v*l.VecStride+i*l.ElemStride]
				}
				return out
			}
			orig := append([]fr.Element(nil), buf...)
			NTTForward(buf, l)
			for v := 0; v < count; v++ {
				want := vec(orig, v)
				d.FFT(want, fft.DIF)
				compare(t, shape+" forward", vec(buf, v), want)
			}
			fwd := append([]fr.Element(nil), buf...)
			NTTInverse(buf, l)
			for v := 0; v < count; v++ {
				want := vec(fwd, v)
				d.FFTInverse(want, fft.DIT)
				compare(t, shape+" inverse", vec(buf, v), want)
			}
			compare(t, shape+" round trip", buf, orig)
		}
	}
}

func randRows(r *rand.Rand, k, width int) [][]fr.Element {
	rows := make([][]fr.Element, k)
	for i := range rows {
		rows[i] = randVec(r, width)
	}
	// Edge rows: zeros, then a row of p−1, then a row of edge values.
	if k >= 4 {
		clear(rows[1])
		var m1 fr.Element
		m1.SetOne()
		m1.Neg(&m1)
		for j := range rows[2] {
			rows[2][j] = m1
		}
		copy(rows[3], edgeElems())
	}
	return rows
}

func compareRows(t *testing.T, what string, got, want [][]fr.Element) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for j := range want {
		for i := range want[j] {
			if got[j][i] != want[j][i] {
				t.Fatalf("%s: row %d element %d: got %s, want %s", what, j, i, got[j][i].String(), want[j][i].String())
			}
		}
	}
}

func alloc(n, width int) [][]fr.Element {
	out := make([][]fr.Element, n)
	for i := range out {
		out[i] = make([]fr.Element, width)
	}
	return out
}

// TestExtendColumns compares the fused column tiles with the encoder's CPU
// backend: full matrices (d = K, all 3K extended rows) for tile widths the
// library may use, and v2 batch shapes (d not a power of two, zero padding
// rows made by the kernel, only the 3d parity rows written) on random,
// all-zero and one-repeated-value rows; each also with every phase's
// threads run in reverse, so a phase that needs a barrier it lacks fails.
func TestExtendColumns(t *testing.T) {
	r := rng(t)
	cpu := encoder.NewCPUBackend(0)
	check := func(name string, data [][]fr.Element, k, width, nout int) {
		t.Helper()
		matrix := append([][]fr.Element(nil), data...)
		for len(matrix) < k {
			matrix = append(matrix, make([]fr.Element, 4096))
		}
		want := alloc(4*k, 4096)
		if err := cpu.ExtendColumns(context.Background(), matrix, want); err != nil {
			t.Fatal(err)
		}
		compareRows(t, name, ExtendColumns(data, k, width, nout, false), want[k:k+nout])
		compareRows(t, name+" threads reversed", ExtendColumns(data, k, width, nout, true), want[k:k+nout])
	}
	full := []struct{ k, width int }{
		{1, 512}, {1, 4096}, {2, 256}, {4, 128}, {4, 4096}, {8, 64}, {8, 512},
		{16, 4096}, {32, 16}, {64, 1024}, {128, 4}, {256, 2}, {256, 512},
	}
	for _, tc := range full {
		if testing.Short() && tc.k > 64 {
			continue
		}
		check("K="+itoa(tc.k)+" width="+itoa(tc.width), randRows(r, tc.k, 4096), tc.k, tc.width, 3*tc.k)
	}
	var rep fr.Element
	rep.SetUint64(0xa7a7a7)
	for _, d := range []int{1, 2, 3, 5, 8} {
		k := 1
		for k < d {
			k <<= 1
		}
		kinds := map[string][][]fr.Element{"random": randRows(r, d, 4096), "zero": alloc(d, 4096), "repeated": alloc(d, 4096)}
		for _, row := range kinds["repeated"] {
			for j := range row {
				row[j] = rep
			}
		}
		for name, data := range kinds {
			check("D="+itoa(d)+" "+name, data, k, 4*ColumnTileWidth(k), 3*d)
		}
	}
}

func TestExtendRows(t *testing.T) {
	r := rng(t)
	rows := randRows(r, 6, 4096)
	want := alloc(len(rows), 8192)
	if err := encoder.NewCPUBackend(0).ExtendRows(context.Background(), rows, want); err != nil {
		t.Fatal(err)
	}
	compareRows(t, "rows", ExtendRows(rows), want)
}

func itoa(i int) string { return big.NewInt(int64(i)).String() }
