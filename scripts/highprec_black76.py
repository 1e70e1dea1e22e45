#!/usr/bin/env python3
"""
Independent high-precision reference for the Black-76 kernels.

Evaluates the closed forms of price and Greeks (see src/pricing/types.ts for
definitions and units) in 60-digit decimal arithmetic (Python's `decimal`,
which has correctly rounded exp/ln/sqrt), with the normal CDF from the erf
power series (small arguments) or the Laplace continued fraction of erfc
(tail), so that the only error left in the fixture is the final rounding of
each value to the nearest double. The inputs are doubles, converted exactly.

Writes test/fixtures/black76_highprec.json. Run: python3 scripts/highprec_black76.py
Deterministic (fixed seed); needs nothing outside the Python standard library.
Haug/QuantLib inputs are read from ../shared/data when present.
"""
import json, os, random, sys
from decimal import Decimal as D, getcontext

getcontext().prec = 60
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, '..', 'shared', 'data')
PI = D('3.14159265358979323846264338327950288419716939937510582097494459')
SQRT2 = D(2).sqrt()
INV_SQRT_2PI = 1 / (2 * PI).sqrt()


def norm_tail(a):
    """N(-a) for a >= 0."""
    y = a / SQRT2
    if y < 5:
        # erf(y) = 2/sqrt(pi) * sum (-1)^n y^(2n+1) / (n! (2n+1)), with extra digits for the cancellation
        getcontext().prec = 100
        term = y
        s = y
        n = 0
        y2 = y * y
        while True:
            n += 1
            term = -term * y2 / n
            add = term / (2 * n + 1)
            s += add
            if abs(add) < D(10) ** -95:
                break
        erf = 2 / PI.sqrt() * s
        r = (1 - erf) / 2
        getcontext().prec = 60
        return +r
    # erfc(y) = exp(-y^2)/sqrt(pi) * 1/(y + (1/2)/(y + 1/(y + (3/2)/(y + 2/(y + ...)))))
    f = y
    for k in range(400, 0, -1):
        f = y + (D(k) / 2) / f
    erfc = (-y * y).exp() / PI.sqrt() / f
    return erfc / 2


def norm_cdf(x):
    return norm_tail(-x) if x < 0 else 1 - norm_tail(x)


def black76(is_put, F, K, vol, t, r, inverse):
    F, K, vol, t, r = D(F), D(K), D(vol), D(t), D(r)
    th = -1 if is_put else 1
    df = (-r * t).exp()
    sqrtT = t.sqrt()
    sd = vol * sqrtT
    d1 = (F / K).ln() / sd + sd / 2
    d2 = d1 - sd
    n1 = INV_SQRT_2PI * (-(d1 * d1) / 2).exp()
    N1 = norm_cdf(th * d1)
    N2 = norm_cdf(th * d2)
    price = df * th * (F * N1 - K * N2)
    delta = df * th * N1
    gamma = df * n1 / (F * sd)
    vega = df * F * n1 * sqrtT
    vanna = -df * n1 * d2 / vol
    volga = vega * d1 * d2 / vol
    theta = r * price - vega * vol / (2 * t)
    rho = -t * price
    g = dict(price=price, delta=delta, gamma=gamma, vega=vega, theta=theta, rho=rho, vanna=vanna, volga=volga)
    if inverse:
        pc = price / F
        dc = (delta - pc) / F
        g = dict(price=pc, delta=dc, gamma=(gamma - 2 * dc) / F, vega=vega / F, theta=theta / F,
                 rho=rho / F, vanna=(vanna - vega / F) / F, volga=volga / F)
    return {k: float(v) for k, v in g.items()}


def row(kind, is_put, F, K, vol, t, r, inverse, **extra):
    out = dict(set=kind, type='put' if is_put else 'call', forward=F, strike=K, vol=vol, t=t, rate=r,
               settlement='inverse' if inverse else 'linear')
    out.update(extra)
    out['expected'] = black76(is_put, F, K, vol, t, r, inverse)
    return out


def main():
    rows = []
    rng = random.Random(20260205)
    # Random inputs over the ranges: vol 1%..400%, t 1 hour..5 years, K/F 0.2..5.
    # Only informative rows are kept: a draw whose price is below 1e-11·F (in USD; the kernels'
    # tests floor relative errors at 1e-12·F) is redrawn, since an option worth ~0 says nothing
    # about the accuracy of the formulas (a third of the unfiltered draws were such rows).
    redrawn = 0
    while sum(1 for x in rows if x['set'] == 'random') < 3000:
        F = float(10 ** rng.uniform(0, 5))
        K = F * float(10 ** rng.uniform(-0.69897, 0.69897))
        vol = float(10 ** rng.uniform(-2, 0.60206))
        t = float(10 ** rng.uniform(-3.94250, 0.69897))  # 1/8760 .. 5 years
        r = 0.0 if rng.random() < 0.5 else float(rng.uniform(-0.02, 0.12))
        is_put, inverse = rng.random() < 0.5, rng.random() < 0.5
        usd = float(black76(is_put, F, K, vol, t, r, False)['price'])
        if usd < 1e-11 * F:
            redrawn += 1
            continue
        rows.append(row('random', is_put, F, K, vol, t, r, inverse))
    print(redrawn, 'random draws below 1e-11·F redrawn', file=sys.stderr)
    # Edge cases: deep in/out of the money, huge and small strikes, one minute to expiry, extreme vols.
    for F, K, vol, t in [(60000.0, 600.0, 0.5, 0.25), (60000.0, 6.0e6, 0.5, 0.25), (1.0, 1e-6, 0.8, 1.0),
                         (1.0, 1e6, 0.8, 1.0), (60000.0, 60000.0, 0.5, 1 / 525600), (60000.0, 61000.0, 0.5, 1 / 525600),
                         (60000.0, 60000.0, 4.0, 5.0), (60000.0, 300000.0, 4.0, 5.0), (60000.0, 60000.0, 0.001, 0.01),
                         (2000.0, 1000.0, 0.05, 0.02), (2000.0, 4000.0, 0.05, 0.02)]:
        for is_put in (False, True):
            for inverse in (False, True):
                rows.append(row('edge', is_put, F, K, vol, t, 0.0, inverse))
    # Haug / QuantLib inputs (GBSM rows mapped to Black-76: F = S·e^{(r−q)t}, df = e^{−rt}).
    haug = os.path.join(SHARED, 'haug_european.json')
    if os.path.exists(haug):
        with open(haug) as fh:
            h = json.load(fh)
        for i, x in enumerate(h['test_values']['rows']):
            if x['vol'] <= 0 or x['t'] <= 0:
                continue
            F = float(D(x['spot']) * ((D(x['r']) - D(x['q'])) * D(x['t'])).exp())
            rows.append(row('haug', x['type'] == 'put', F, x['strike'], x['vol'], x['t'], x['r'], False, index=i))
    json.dump({'generator': 'scripts/highprec_black76.py (60-digit decimal)', 'rows': rows},
              open(os.path.join(ROOT, 'test', 'fixtures', 'black76_highprec.json'), 'w'), separators=(',', ':'))
    print(len(rows), 'rows', file=sys.stderr)


if __name__ == '__main__':
    main()
