#!/usr/bin/env python3
"""Independent numpy reference for the risk engine (test/risk-numpy.test.ts runs it).

Written from the conventions of docs/risk.md, not from the TypeScript: reads the daily CSVs of
../shared/data, builds the P&L vectors with numpy and prints JSON with VaR (three conventions),
Acerbi-Tasche ES, FHS VaR, a short 30-day ATM straddle's VaR and a rolling backtest.

usage: python3 scripts/risk_reference.py DATA_DIR
"""
import csv
import json
import math
import sys

import numpy as np

DATA = sys.argv[1]


def closes(name, col='close'):
    with open(f'{DATA}/{name}') as f:
        rows = list(csv.DictReader(f))
    return [r['date'] for r in rows], np.array([float(r[col]) for r in rows])


def var_es(pnl, alpha):
    x = np.sort(pnl)
    n = len(x)
    nb = round(n * (1 - alpha) * 1e9) / 1e9
    k = int(math.floor(nb))
    lower = -x[k - 1] if k >= 1 else None
    empirical = -x[k]
    linear = -float(np.quantile(pnl, 1 - alpha, method='linear'))
    es = -(x[:k].sum() + (nb - k) * (x[k] if k < n else 0.0)) / nb
    return {'lower': lower, 'empirical': float(empirical), 'linear': linear, 'es': float(es)}


def ncdf(v):
    return 0.5 * (1.0 + np.vectorize(math.erf)(v / math.sqrt(2.0)))


def black76(F, K, sig, t, put):
    sd = sig * math.sqrt(t)
    d1 = (np.log(F / K) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    call = F * ncdf(d1) - K * ncdf(d2)
    return call - (F - K) if put else call


dates, btc = closes('btc_usdt_1d_binance.csv')
r = np.log(btc[1:] / btc[:-1])  # r[j] is dated dates[j + 1]
out = {'long1btc': [], 'fhs': [], 'straddle': [], 'backtest': []}

# long 1 BTC, historical simulation: window = N most recent returns up to and including T
for as_of in ['2026-07-17', '2024-03-12', '2022-11-09']:
    k = dates.index(as_of)
    for N in [250, 500]:
        w = r[k - N:k]  # returns dated dates[k-N+1 .. k]
        pnl = btc[k] * (np.exp(w) - 1.0)
        for alpha in [0.95, 0.975, 0.99]:
            out['long1btc'].append({'asOf': as_of, 'lookback': N, 'alpha': alpha, **var_es(pnl, alpha)})

# FHS: EWMA over the file from its first return, seed = mean of the first 30 squared returns
lam = 0.94
v = np.empty(len(r) + 1)
v[0] = np.mean(r[:30] ** 2)
for j in range(len(r)):
    v[j + 1] = lam * v[j] + (1 - lam) * r[j] ** 2
for as_of in ['2026-07-17', '2021-05-19']:
    k = dates.index(as_of)
    N = 500
    j = np.arange(k - N, k)  # return indices in the window
    filtered = r[j] * np.sqrt(v[k] / v[j])  # v[k]: forecast made at the close of T
    pnl = btc[k] * (np.exp(filtered) - 1.0)
    for alpha in [0.975, 0.99]:
        out['fhs'].append({'asOf': as_of, 'lookback': N, 'alpha': alpha, **var_es(pnl, alpha)})

# short 30-day ATM straddle (linear), vol = DVOL/100 at T, scenario vol = sigma_T * DVOL_t / DVOL_t-1
ddates, dvol = closes('btc_dvol_1d.csv', 'dvol')
dv = dict(zip(ddates, dvol / 100.0))
for as_of in ['2024-03-12', '2025-06-30']:
    k = dates.index(as_of)
    N = 250
    S = btc[k]
    K = round(S / 1000.0) * 1000.0
    t = (30 * 86400 + 8 * 3600) / (365 * 86400.0)
    sig = dv[as_of]
    ratio = np.array([dv[dates[i]] / dv[dates[i - 1]] if dates[i] in dv and dates[i - 1] in dv else 1.0 for i in range(k - N + 1, k + 1)])
    F = S * np.exp(r[k - N:k])
    s_sc = np.maximum(0.01, sig * ratio)
    v0 = black76(np.array([S]), K, np.array([sig]), t, False)[0] + black76(np.array([S]), K, np.array([sig]), t, True)[0]
    vs = black76(F, K, s_sc, t, False) + black76(F, K, s_sc, t, True)
    pnl = -(vs - v0)
    for alpha in [0.95, 0.99]:
        out['straddle'].append({'asOf': as_of, 'lookback': N, 'alpha': alpha, 'strike': K, **var_es(pnl, alpha)})

# rolling HS backtest of long 1 BTC: VaR for day t from the N returns ending at t-1, P&L close t-1 -> t
for (frm, to, N, alpha) in [('2020-01-01', '2026-07-17', 250, 0.99), ('2022-01-01', '2023-12-31', 500, 0.975)]:
    a, b = dates.index(frm), dates.index(to)
    exc = []
    for t_ in range(a, b + 1):
        k = t_ - 1
        pnl = btc[k] * (np.exp(r[k - N:k]) - 1.0)
        x = np.sort(pnl)
        kk = int(math.floor(round(N * (1 - alpha) * 1e9) / 1e9))
        var = -x[kk]  # empirical
        if -(btc[t_] - btc[k]) > var:
            exc.append(dates[t_])
    out['backtest'].append({'from': frm, 'to': to, 'lookback': N, 'alpha': alpha, 'observations': b - a + 1, 'exceptions': exc})

# var-es-975 (data/var-es/var-es-975.json) for long 1 BTC: IM = max(1.25 * ES97.5(FHS 750, MPOR 2 by sqrt 2), ES97.5(HS 2020-03-01..2020-04-30, sqrt 2))
as_of = '2026-07-17'
k = dates.index(as_of)
j = np.arange(k - 750, k)
fhs2 = r[j] * np.sqrt(v[k] / v[j]) * math.sqrt(2)
base = var_es(btc[k] * (np.exp(fhs2) - 1.0), 0.975)['es']
a, b = dates.index('2020-03-01'), dates.index('2020-04-30')
stressed = var_es(btc[k] * (np.exp(r[a - 1:b] * math.sqrt(2)) - 1.0), 0.975)['es']
out['varEs975'] = {'asOf': as_of, 'base': base, 'stressed': stressed, 'im': max(1.25 * base, stressed), 'mm': 0.8 * max(1.25 * base, stressed)}

json.dump(out, sys.stdout)
