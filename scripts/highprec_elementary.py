#!/usr/bin/env python3
"""
60-digit reference values for the kernels' elementary functions (exp, log, the
lower normal tail N(-x)), at deterministic pseudo-random doubles. Writes
test/fixtures/elementary_highprec.json; run: python3 scripts/highprec_elementary.py
"""
import json, os, random
from decimal import Decimal as D, getcontext
import importlib.util

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location('hp', os.path.join(ROOT, 'scripts', 'highprec_black76.py'))
hp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hp)
getcontext().prec = 60
rng = random.Random(42)
exp_x = [rng.uniform(-745.0, 0.0) for _ in range(3000)] + [rng.uniform(-1, 1) for _ in range(1000)] + [rng.uniform(-1e-3, 1e-3) for _ in range(200)]
log_x = [10 ** rng.uniform(-3, 3) for _ in range(3000)] + [1 + rng.uniform(-1e-6, 1e-6) for _ in range(500)]
tail_x = [rng.uniform(0, 38) for _ in range(2500)] + [rng.uniform(0, 1) for _ in range(500)]
out = {
    'generator': 'scripts/highprec_elementary.py (60-digit decimal)',
    'exp': [[x, float(D(x).exp())] for x in exp_x],
    'log': [[x, float(D(x).ln())] for x in log_x],
    'normTail': [[x, float(hp.norm_tail(D(x)))] for x in tail_x],
}
json.dump(out, open(os.path.join(ROOT, 'test', 'fixtures', 'elementary_highprec.json'), 'w'), separators=(',', ':'))
