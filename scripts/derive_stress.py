#!/usr/bin/env python3
"""Derives data/stress-episodes.json (the shipped library of named stress episodes) from the
daily histories in ../shared/data. Only derived parameters are shipped, never the raw data.

For each episode date D:
  price move of U: the 1-day close-to-close move of Binance U/USDT, close D-1 -> close D
                   (logReturn = ln(S_D / S_{D-1}); relative = S_D / S_{D-1} - 1);
  vol move of U:   ratio of the implied-vol index at D to D-1, from, in order,
                   BTC DVOL (btc_dvol_1d.csv, daily), the ATM 30-day IV of the Deribit snapshots
                   (deribit_atm_iv_30d_history.csv, the last snapshot of each UTC date), else the
                   spot-vol rule: ln(vol ratio) = beta * logReturn, beta the least-squares slope
                   through the origin of ln(DVOL_t/DVOL_t-1) on BTC's r_t over the dates with both,
                   fitted separately on down days (r < 0) and up days (stated in the file).

usage: python3 scripts/derive_stress.py ../shared/data > data/stress-episodes.json
"""
import csv
import json
import math
import sys

DATA = sys.argv[1]
EPISODES = [
    ('2020-03-12', 'Black Thursday: COVID crash, BitMEX liquidations'),
    ('2021-05-19', 'China mining/trading ban sell-off, leverage flush'),
    ('2022-06-13', 'Celsius withdrawal freeze, 3AC distress'),
    ('2022-11-09', 'FTX collapse'),
    ('2026-02-05', '2026-02-05 crash'),
]


def series(name, col, date_col='date'):
    with open(f'{DATA}/{name}') as f:
        return {r[date_col]: float(r[col]) for r in csv.DictReader(f)}


px = {'BTC': series('btc_usdt_1d_binance.csv', 'close'), 'ETH': series('eth_usdt_1d_binance.csv', 'close')}
dvol = series('btc_dvol_1d.csv', 'dvol')
atm = {'BTC': {}, 'ETH': {}}
with open(f'{DATA}/deribit_atm_iv_30d_history.csv') as f:
    for r in csv.DictReader(f):
        if r['currency'] in atm:
            atm[r['currency']][r['snapshot_time'][:10]] = float(r['atm_iv_30d'])  # rows in time order: last wins


def prev_day(d):
    import datetime
    return (datetime.date.fromisoformat(d) - datetime.timedelta(days=1)).isoformat()


# spot-vol beta over the DVOL period
xs, ys = [], []
for d in sorted(dvol):
    p = prev_day(d)
    if p in dvol and d in px['BTC'] and p in px['BTC']:
        xs.append(math.log(px['BTC'][d] / px['BTC'][p]))
        ys.append(math.log(dvol[d] / dvol[p]))
def slope(sel):
    return sum(x * y for x, y in sel) / sum(x * x for x, y in sel)


down = [(x, y) for x, y in zip(xs, ys) if x < 0]
up = [(x, y) for x, y in zip(xs, ys) if x >= 0]
beta_down, beta_up = slope(down), slope(up)

out = {
    'format': 'optmargin.stress-episodes/1',
    'description': 'Named historical stress episodes: 1-day joint moves derived from daily data (scripts/derive_stress.py). '
                   'Prices: Binance BTC/USDT and ETH/USDT daily closes (close D-1 -> close D, UTC candles). Vols: ratio of '
                   'the implied-vol index D / D-1 (BTC DVOL; else the ATM 30-day IV of Deribit snapshots, last of each UTC date); '
                   'else ln(ratio) = spotVolBeta x logReturn.',
    'spotVolBeta': {'down': round(beta_down, 6), 'up': round(beta_up, 6),
                    'fit': f'least squares through the origin of ln(DVOL_t/DVOL_t-1) on ln(S_t/S_t-1), BTC, {len(down)} down and {len(up)} up days {sorted(dvol)[1]}..{sorted(dvol)[-1]}'},
    'episodes': [],
}
for d, title in EPISODES:
    p = prev_day(d)
    ep = {'name': d, 'title': title, 'date': d, 'moves': {}}
    for u in ['BTC', 'ETH']:
        lr = math.log(px[u][d] / px[u][p])
        if u == 'BTC' and d in dvol and p in dvol:
            ratio, src = dvol[d] / dvol[p], f'DVOL {dvol[p]} -> {dvol[d]}'
        elif d in atm[u] and p in atm[u]:
            ratio, src = atm[u][d] / atm[u][p], f'ATM 30d IV {atm[u][p]} -> {atm[u][d]}'
        else:
            ratio, src = math.exp((beta_down if lr < 0 else beta_up) * lr), 'spot-vol beta rule (no vol data for the date)'
        ep['moves'][u] = {
            'logReturn': round(lr, 8),
            'relative': round(math.exp(lr) - 1, 8),
            'volRatio': round(ratio, 8),
            'source': f'close {p} {px[u][p]} -> {d} {px[u][d]}; vol: {src}',
        }
    out['episodes'].append(ep)
json.dump(out, sys.stdout, indent=1)
print()
