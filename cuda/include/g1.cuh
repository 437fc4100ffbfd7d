// g1.cuh: BLS12-381 G1 (y² = x³ + 4 over Fp) in Jacobian and affine
// coordinates, laid out as gnark-crypto's G1Jac {X, Y, Z} and G1Affine {X, Y}.
// Jacobian (X, Y, Z) is the point (X/Z², Y/Z³); Z = 0 is infinity; the affine
// infinity is (0, 0), as in gnark. Formulas: EFD dbl-2009-l, add-2007-bl,
// madd-2007-bl (a = 0).
#pragma once

#include "fp.cuh"

namespace zgda {

struct g1_affine {
  fp_t x, y;
};
struct g1_jac {
  fp_t x, y, z;
};
static_assert(sizeof(g1_affine) == 96 && sizeof(g1_jac) == 144, "gnark-crypto G1 layouts");

ZGDA_HD bool g1_affine_is_inf(const g1_affine& p) { return p.x.is_zero() && p.y.is_zero(); }

ZGDA_HD g1_jac g1_jac_inf() { return g1_jac{fp_t::one(), fp_t::one(), fp_t::zero()}; }

ZGDA_HD g1_jac g1_from_affine(const g1_affine& p) {
  if (g1_affine_is_inf(p)) return g1_jac_inf();
  return g1_jac{p.x, p.y, fp_t::one()};
}

ZGDA_HD g1_jac g1_double(const g1_jac& p) {
  if (p.z.is_zero()) return p;
  fp_t a = fp_sqr(p.x);
  fp_t b = fp_sqr(p.y);
  fp_t c = fp_sqr(b);
  fp_t d = fp_dbl(fp_sub(fp_sub(fp_sqr(fp_add(p.x, b)), a), c));
  fp_t e = fp_add(fp_dbl(a), a);
  fp_t f = fp_sqr(e);
  g1_jac r;
  r.x = fp_sub(f, fp_dbl(d));
  fp_t c8 = fp_dbl(fp_dbl(fp_dbl(c)));
  r.y = fp_sub(fp_mul(e, fp_sub(d, r.x)), c8);
  r.z = fp_dbl(fp_mul(p.y, p.z));
  return r;
}

ZGDA_HD g1_jac g1_add(const g1_jac& p, const g1_jac& q) {
  if (p.z.is_zero()) return q;
  if (q.z.is_zero()) return p;
  fp_t z1z1 = fp_sqr(p.z);
  fp_t z2z2 = fp_sqr(q.z);
  fp_t u1 = fp_mul(p.x, z2z2);
  fp_t u2 = fp_mul(q.x, z1z1);
  fp_t s1 = fp_mul(fp_mul(p.y, q.z), z2z2);
  fp_t s2 = fp_mul(fp_mul(q.y, p.z), z1z1);
  fp_t h = fp_sub(u2, u1);
  fp_t rr = fp_dbl(fp_sub(s2, s1));
  if (h.is_zero()) return rr.is_zero() ? g1_double(p) : g1_jac_inf();  // p = ±q
  fp_t i = fp_sqr(fp_dbl(h));
  fp_t j = fp_mul(h, i);
  fp_t v = fp_mul(u1, i);
  g1_jac r;
  r.x = fp_sub(fp_sub(fp_sqr(rr), j), fp_dbl(v));
  r.y = fp_sub(fp_mul(rr, fp_sub(v, r.x)), fp_dbl(fp_mul(s1, j)));
  r.z = fp_mul(fp_sub(fp_sub(fp_sqr(fp_add(p.z, q.z)), z1z1), z2z2), h);
  return r;
}

// g1_add_mixed adds an affine point (Z2 = 1 saves four multiplications).
ZGDA_HD g1_jac g1_add_mixed(const g1_jac& p, const g1_affine& q) {
  if (g1_affine_is_inf(q)) return p;
  if (p.z.is_zero()) return g1_from_affine(q);
  fp_t z1z1 = fp_sqr(p.z);
  fp_t u2 = fp_mul(q.x, z1z1);
  fp_t s2 = fp_mul(fp_mul(q.y, p.z), z1z1);
  fp_t h = fp_sub(u2, p.x);
  fp_t rr = fp_dbl(fp_sub(s2, p.y));
  if (h.is_zero()) return rr.is_zero() ? g1_double(p) : g1_jac_inf();
  fp_t hh = fp_sqr(h);
  fp_t i = fp_dbl(fp_dbl(hh));
  fp_t j = fp_mul(h, i);
  fp_t v = fp_mul(p.x, i);
  g1_jac r;
  r.x = fp_sub(fp_sub(fp_sqr(rr), j), fp_dbl(v));
  r.y = fp_sub(fp_mul(rr, fp_sub(v, r.x)), fp_dbl(fp_mul(p.y, j)));
  r.z = fp_sub(fp_sub(fp_sqr(fp_add(p.z, h)), z1z1), hh);
  return r;
}

ZGDA_HD g1_jac g1_neg(const g1_jac& p) { return g1_jac{p.x, fp_neg(p.y), p.z}; }

// g1_to_affine divides out Z (one inversion: for results, not inner loops).
ZGDA_HD g1_affine g1_to_affine(const g1_jac& p) {
  if (p.z.is_zero()) return g1_affine{fp_t::zero(), fp_t::zero()};
  fp_t zi = fp_inverse(p.z);
  fp_t zi2 = fp_sqr(zi);
  return g1_affine{fp_mul(p.x, zi2), fp_mul(p.y, fp_mul(zi2, zi))};
}

}  // namespace zgda
