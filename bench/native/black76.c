/*
 * Native C port of the optmargin Black-76 kernel (assembly/black76.ts, scalar
 * path: the same exp/log/erfc algorithms and operation order), used ONLY by
 * `npm run bench` to say how close the WASM builds come to native code.
 * Never shipped. Built by bench/run.ts with `cc -O3 -march=native -ffp-contract=off`.
 *
 * Usage: black76 N REPS  -> prints {"n":..,"reps":..,"seconds":..,"checksum":..}
 * The batch is generated exactly as bench/workloads.ts#pricingBatch does.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const double LN2_HI = 6.93147180369123816490e-1, LN2_LO = 1.90821492927058770002e-10, INV_LN2 = 1.44269504088896338700e0;
static const double MAGIC_BIAS = 6755399441056767.0;
static inline double as_f64(int64_t b) { double d; memcpy(&d, &b, 8); return d; }
static inline int64_t as_i64(double d) { int64_t b; memcpy(&b, &d, 8); return b; }
static inline double pow2(double k) { return as_f64(as_i64(k + MAGIC_BIAS) << 52); }

static inline double exp_tail(double x, double xt) {
  double xlo = -745.2 > x ? -745.2 : x;
  double xc = 709.78 < xlo ? 709.78 : xlo;
  double k = nearbyint(xc * INV_LN2);
  double r = (xc - k * LN2_HI) + (xt - k * LN2_LO);
  double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  double q0 = (1.0 + r) + (1.0 / 2 + 1.0 / 6 * r) * r2;
  double q1 = (1.0 / 24 + 1.0 / 120 * r) + (1.0 / 720 + 1.0 / 5040 * r) * r2;
  double q2 = (1.0 / 40320 + 1.0 / 362880 * r) + (1.0 / 3628800 + 1.0 / 39916800 * r) * r2;
  double q3 = 1.0 / 479001600 + 1.0 / 6227020800.0 * r;
  double p = (q0 + q1 * r4) + (q2 + q3 * r4) * r8;
  double k1 = trunc(k * 0.5), k2 = k - k1;
  double y = p * pow2(k1) * pow2(k2);
  return x < -745.2 ? 0.0 : y;
}

static inline double log_pos(double x) {
  int64_t bits = as_i64(x);
  int64_t ebits = (int64_t)((uint64_t)bits >> 52);
  double m = as_f64((bits & 0x000fffffffffffffLL) | 0x3ff0000000000000LL);
  double e = as_f64(ebits | 0x4330000000000000LL) - 4503599627370496.0 - 1023.0;
  int big = m > 1.4142135623730951;
  m = big ? m * 0.5 : m;
  e = big ? e + 1.0 : e;
  double s = (m - 1.0) / (m + 1.0), z = s * s, z2 = z * z, z4 = z2 * z2, z8 = z4 * z4;
  double p = ((1.0 + 1.0 / 3 * z) + (1.0 / 5 + 1.0 / 7 * z) * z2) + ((1.0 / 9 + 1.0 / 11 * z) + (1.0 / 13 + 1.0 / 15 * z) * z2) * z4 +
             ((1.0 / 17 + 1.0 / 19 * z) + 1.0 / 21 * z2) * z8;
  return e * LN2_HI + (2.0 * s * p + e * LN2_LO);
}

static inline double exp_neg_half_sq(double x) {
  double c = x * 134217729.0, xh = c - (c - x), xl = x - xh, p = x * x;
  double lo = ((xh * xh - p) + 2.0 * xh * xl) + xl * xl;
  return exp_tail(-0.5 * p, -0.5 * lo);
}

static const double A[5] = {3.16112374387056560e0, 1.13864154151050156e2, 3.77485237685302021e2, 3.20937758913846947e3, 1.85777706184603153e-1};
static const double B[4] = {2.36012909523441209e1, 2.44024637934444173e2, 1.28261652607737228e3, 2.84423683343917062e3};
static const double C[9] = {5.64188496988670089e-1, 8.88314979438837594e0, 6.61191906371416295e1, 2.98635138197400131e2, 8.81952221241769090e2,
                            1.71204761263407058e3, 2.05107837782607147e3, 1.23033935479799725e3, 2.15311535474403846e-8};
static const double Dd[8] = {1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2, 1.62138957456669019e3,
                             3.29079923573345963e3, 4.36261909014324716e3, 3.43936767414372164e3, 1.23033935480374942e3};
static const double P[6] = {3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2};
static const double Q[5] = {2.56852019228982242e0, 1.87295284992346047e0, 5.27905102951428412e-1, 6.05183413124413191e-2, 2.33520497626869185e-3};

static inline double erf_small(double y) {
  double ysq = y * y, xnum = A[4] * ysq, xden = ysq;
  for (int i = 0; i < 3; i++) { xnum = (xnum + A[i]) * ysq; xden = (xden + B[i]) * ysq; }
  return (y * (xnum + A[3])) / (xden + B[3]);
}
static inline double norm_tail(double x, double ex) {
  double y = x * 0.70710678118654752440;
  if (y < 0.46875) return 0.5 - 0.5 * erf_small(y);
  double r;
  if (y <= 4.0) {
    double xnum = C[8] * y, xden = y;
    for (int i = 0; i < 7; i++) { xnum = (xnum + C[i]) * y; xden = (xden + Dd[i]) * y; }
    r = (xnum + C[7]) / (xden + Dd[7]);
  } else {
    double z = 1.0 / (y * y), xnum = P[5] * z, xden = z;
    for (int i = 0; i < 4; i++) { xnum = (xnum + P[i]) * z; xden = (xden + Q[i]) * z; }
    r = (0.56418958354775628695 - (z * (xnum + P[4])) / (xden + Q[4])) / y;
  }
  return 0.5 * ex * r;
}

typedef struct { double *F, *K, *vol, *t, *r; uint8_t *flags; double *out[8]; } batch_t;

static void price_greeks(int n, batch_t *b) {
  const double INV_SQRT_2PI = 0.3989422804014327, S = 0.70710678118654752440;
  for (int i = 0; i < n; i++) {
    double F = b->F[i], K = b->K[i], vol = b->vol[i], t = b->t[i], r = b->r[i];
    uint8_t fl = b->flags[i];
    double th = (fl & 1) ? -1.0 : 1.0, sqrtT = sqrt(t), sd = vol * sqrtT;
    double df = r == 0.0 ? 1.0 : exp_tail(-(r * t), 0.0);
    double price, delta = 0, gamma = 0, vega = 0, vanna = 0, volga = 0, decay = 0;
    if (sd < 1e-14) {
      double intrinsic = fmax(th * (F - K), 0.0);
      price = df * intrinsic;
      delta = F == K ? 0.5 * th * df : intrinsic > 0.0 ? th * df : 0.0;
      vega = F == K ? df * F * sqrtT * INV_SQRT_2PI : 0.0;
      decay = t > 0.0 ? (vega * vol) / (2.0 * t) : 0.0;
    } else {
      double invSd = 1.0 / sd, invF = 1.0 / F, ratio = F / K;
      double d1 = log_pos(ratio) * invSd + 0.5 * sd, d2 = d1 - sd;
      d1 = -40.0 > d1 ? -40.0 : d1; d1 = 40.0 < d1 ? 40.0 : d1;
      d2 = -40.0 > d2 ? -40.0 : d2; d2 = 40.0 < d2 ? 40.0 : d2;
      double a1 = fabs(d1), a2 = fabs(d2);
      int below = F < K;
      double exMin = exp_neg_half_sq(below ? a1 : a2);
      double ex1 = below ? exMin : exMin * (K * invF), ex2 = below ? exMin * ratio : exMin;
      double t1 = norm_tail(a1, ex1), t2 = norm_tail(a2, ex2);
      double N1 = th * d1 < 0.0 ? t1 : 1.0 - t1, N2 = th * d2 < 0.0 ? t2 : 1.0 - t2;
      double pv = df * th * (F * N1 - K * N2);
      if (a1 * S < 0.46875 && a2 * S < 0.46875)
        pv = df * th * (0.5 * (F - K) + 0.5 * (F * erf_small(th * d1 * S) - K * erf_small(th * d2 * S)));
      price = pv < 0.0 ? 0.0 : pv;
      double nd1 = INV_SQRT_2PI * ex1, invVol = invSd * sqrtT, w = vol * invSd;
      delta = df * th * N1; gamma = df * nd1 * invSd * invF; vega = df * F * nd1 * sqrtT;
      vanna = -df * nd1 * d2 * invVol; volga = vega * d1 * d2 * invVol; decay = 0.5 * vega * vol * w * w;
    }
    double theta = r * price - decay, rho = -t * price;
    if (fl & 2) {
      double invF = 1.0 / F, pc = price * invF, dc = (delta - pc) * invF;
      b->out[0][i] = pc; b->out[1][i] = dc; b->out[2][i] = (gamma - 2.0 * dc) * invF; b->out[3][i] = vega * invF;
      b->out[4][i] = theta * invF; b->out[5][i] = rho * invF; b->out[6][i] = (vanna - vega * invF) * invF; b->out[7][i] = volga * invF;
    } else {
      b->out[0][i] = price; b->out[1][i] = delta; b->out[2][i] = gamma; b->out[3][i] = vega;
      b->out[4][i] = theta; b->out[5][i] = rho; b->out[6][i] = vanna; b->out[7][i] = volga;
    }
  }
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 8192, reps = argc > 2 ? atoi(argv[2]) : 200;
  batch_t b;
  b.F = malloc(n * 8); b.K = malloc(n * 8); b.vol = malloc(n * 8); b.t = malloc(n * 8); b.r = malloc(n * 8); b.flags = malloc(n);
  for (int k = 0; k < 8; k++) b.out[k] = malloc(n * 8);
  /* inputs: read from stdin as n lines "F K vol t r flags" (written by bench/run.ts) */
  for (int i = 0; i < n; i++) {
    int fl;
    if (scanf("%lf %lf %lf %lf %lf %d", &b.F[i], &b.K[i], &b.vol[i], &b.t[i], &b.r[i], &fl) != 6) { fprintf(stderr, "bad input\n"); return 2; }
    b.flags[i] = (uint8_t)fl;
  }
  for (int k = 0; k < reps / 4 + 1; k++) price_greeks(n, &b); /* warm-up */
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int k = 0; k < reps; k++) price_greeks(n, &b);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double sec = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec), sum = 0;
  for (int i = 0; i < n; i++) sum += b.out[0][i];
  printf("{\"n\":%d,\"reps\":%d,\"seconds\":%.9f,\"checksum\":%.17g}\n", n, reps, sec, sum);
  return 0;
}
