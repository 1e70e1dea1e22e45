/**
 * Stateless endpoints: price, implied vol, margin (one account or many), what-if and liquidation
 * price. Each runs the library function the CLI runs, in the server's compute queue.
 */
import { ErrorCodes, OptmarginError, check } from '../errors.js';
import { errorResult } from '../runner/account/runner.js';
import { validateAccount, validateChanges } from '../instruments/account.js';
import type { AccountInput, MarginResultOk } from '../measures/types.js';
import { priceOptions } from '../pricing/index.js';
import { impliedVolBatchFromInputs } from '../cli/iv.js';
import { defaultModelFor, marginAccounts, type MarginOutput } from '../cli/margin.js';
import { marginAnswerBytes } from './answer-json.js';
import { send, statusOf } from './http.js';
import type { ServeContext } from './server.js';

const idOf = (a: unknown): string => {
  const id = (a as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : String(id ?? '?');
};

function tooMany(body: unknown, max: number, what: string): void {
  if (Array.isArray(body) && body.length > max) {
    throw new OptmarginError(ErrorCodes.LIMIT_EXCEEDED, `${body.length} ${what} in one request, over the limit of ${max}`);
  }
}

/**
 * An error of an account given under `account` in a request: its path prefixed so that it names
 * the request's field; positions past the account's own (appended from `changes`) name the change.
 */
function underAccount(e: unknown, nPositions: number): unknown {
  if (!(e instanceof OptmarginError) || e.path === undefined || e.path.startsWith('changes')) return e;
  const m = /^positions\[(\d+)\](.*)$/.exec(e.path);
  const path = m && Number(m[1]) >= nPositions ? `changes[${Number(m[1]) - nPositions}]${m[2]}` : `account.${e.path}`;
  const message = e.message.startsWith(e.path) ? path + e.message.slice(e.path.length) : `${path}: ${e.message}`;
  return new OptmarginError(e.code, message, path);
}

/**
 * Registers the stateless routes; returns POST /v1/margin's work (status and answer from the query
 * and the parsed body), which the lane (fast-lane.ts) shares with the route.
 */
export function marginRoutes(ctx: ServeContext): (query: Record<string, unknown>, body: unknown) => Promise<[number, MarginOutput | MarginOutput[]]> {
  const { app, queue, limits, routes } = ctx;
  const models = { name: 'model', schema: { enum: [...ctx.modelIds] }, description: 'preset id (default: deribit-pm for portfolio accounts, else deribit-standard)' };

  // price and iv: the engine validates (naming the field as the CLI does) and computes; the schema then
  // checks what only it knows (limits)
  const optionBatch = (url: string, body: 'PriceBody' | 'IvBody', summary: string, returns: string, compute: (b: unknown) => unknown) => {
    const checkBody = ctx.check(body);
    routes.push({ method: 'POST', url, summary, body, returns });
    app.post(url, async (req, reply) => {
      tooMany(req.body, limits.optionsPerRequest, 'options');
      const out = await queue.submit(() => {
        const res = compute(req.body);
        checkBody(req.body);
        return res;
      });
      return send(req, reply, 200, out);
    });
  };
  optionBatch('/v1/price', 'PriceBody', 'Black-76 prices and Greeks (as `optmargin price`)', '[{ price, delta, gamma, vega, theta, rho, vanna, volga }] in raw units', (b) => priceOptions(b));
  optionBatch('/v1/iv', 'IvBody', 'implied volatility (as `optmargin iv`)', '[{ vol }] or { vol: null, error } per option', impliedVolBatchFromInputs);

  const checkMargin = ctx.check('MarginBody', (b) => {
    if (!Array.isArray(b)) validateAccount(b);
  });
  routes.push({
    method: 'POST',
    url: '/v1/margin',
    summary: 'margin of one account, or an array of accounts (as `optmargin margin --json`)',
    body: 'MarginBody',
    query: [models, { name: 'liquidation', schema: { type: 'boolean' }, description: 'add the liquidation price of each underlying' }],
    returns: 'the result object (or array) `optmargin margin --json` prints',
  });
  // One account: each rule of the schema's Account is also one of the engine's validator, which
  // margin() runs (stricter: bounds on every number) and whose error it answers with, as the schema
  // check does when it refuses a body (compileBody asks the engine first). The schema knows one
  // thing more, the server's positions limit: it runs only for an account over it (its error
  // then), not for every request (~2.3 kB of garbage and ~1 µs each: Ajv's call per position).
  const withinPositionLimit = (b: unknown): boolean => {
    const positions = (b as { positions?: unknown } | null)?.positions;
    return !Array.isArray(positions) || positions.length <= limits.positionsPerAccount;
  };
  const margin = (query: Record<string, unknown>, body: unknown): Promise<[number, MarginOutput | MarginOutput[]]> => {
    tooMany(body, limits.accountsPerRequest, 'accounts');
    const liquidation = query.liquidation === 'true';
    const many = Array.isArray(body);
    // as the CLI: each account's own default model (by its mode) unless ?model= names one
    const named = ctx.modelOf(query, '');
    const engineOf = (a: unknown) => ctx.engineFor(named || defaultModelFor((a as { mode?: unknown } | null)?.mode));
    return queue.submit((): [number, MarginOutput | MarginOutput[]] => {
      if (many && body.length === 0) throw new OptmarginError(ErrorCodes.INVALID_INPUT, 'no accounts in the input');
      try {
        if (many || !withinPositionLimit(body)) checkMargin(body);
      } catch (e) {
        if (many || !(e instanceof OptmarginError)) throw e;
        return [statusOf(e.code), errorResult(idOf(body), e)];
      }
      const results = (many ? body : [body]).map((a) => marginAccounts(engineOf(a), [a], liquidation)[0]);
      // as the CLI: a request whose accounts all failed is an input error
      const failed = results.find((r) => !r.ok);
      const status = failed && results.every((r) => !r.ok) && !failed.ok ? statusOf(failed.error.code) : 200;
      return [status, many ? results : results[0]];
    });
  };
  app.post('/v1/margin', async (req, reply) => {
    const [status, out] = await margin(req.query as Record<string, unknown>, req.body);
    return send(req, reply, status, out, marginAnswerBytes);
  });

  const checkWhatIf = ctx.check('WhatIfBody', (b) => {
    const o = check.object('body', b);
    validateAccount(o.account, 'account');
    validateChanges(o.changes, 'changes');
  });
  routes.push({ method: 'POST', url: '/v1/whatif', summary: 'margin before and after trades', body: 'WhatIfBody', query: [models], returns: '{ before, after, delta } figures, USD' });
  app.post('/v1/whatif', async (req, reply) => {
    const b = req.body as { account: AccountInput; changes: unknown };
    const out = await queue.submit(() => {
      checkWhatIf(b);
      const account = validateAccount(b.account, 'account');
      const engine = ctx.engineFor(ctx.modelOf(req.query, defaultModelFor(account.mode)));
      try {
        return engine.whatIf(account, b.changes);
      } catch (e) {
        throw underAccount(e, account.positions.length);
      }
    });
    return send(req, reply, 200, out);
  });

  const checkLiq = ctx.check('LiquidationBody', (b) => void validateAccount(check.object('body', b).account, 'account'));
  routes.push({
    method: 'POST',
    url: '/v1/liquidation-price',
    summary: 'prices of each underlying at which equity would fall to maintenance margin',
    body: 'LiquidationBody',
    query: [models],
    returns: '{ id, health, equity, maintenanceMargin, liquidationPrices: [{ underlying, spot, below, above, alreadyLiquidatable }] }',
  });
  app.post('/v1/liquidation-price', async (req, reply) => {
    const b = req.body as { account: AccountInput; underlying?: string };
    const out = await queue.submit(() => {
      checkLiq(b);
      const account = validateAccount(b.account, 'account');
      const engine = ctx.engineFor(ctx.modelOf(req.query, defaultModelFor(account.mode)));
      const r = engine.margin(account);
      if (!r.ok) throw underAccount(new OptmarginError(r.error.code, r.error.message, r.error.path), account.positions.length);
      if (b.underlying !== undefined && !ctx.market.hasUnderlying(b.underlying)) {
        throw new OptmarginError(ErrorCodes.MISSING_MARKET_DATA, `underlying the market has no underlying ${JSON.stringify(b.underlying)}`, 'underlying');
      }
      const us = b.underlying !== undefined ? [b.underlying] : Object.keys((r as MarginResultOk).greeks);
      const { id, health, equity, maintenanceMargin } = r;
      return { id, health, equity, maintenanceMargin, liquidationPrices: us.map((u) => engine.liquidationPrice(account, u)) };
    });
    return send(req, reply, 200, out);
  });
  return margin;
}
