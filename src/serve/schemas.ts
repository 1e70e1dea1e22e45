/**
 * JSON Schemas of the server's request bodies: the one description that both validates a
 * request (compiled by Ajv in src/serve/validate.ts) and documents it (src/serve/openapi.ts).
 *
 * They describe the wire shape. The meaning of a field (a position's collateral only in isolated
 * mode, an instrument name the market lists, a price inside the no-arbitrage bounds) is checked
 * by the engine's own validators, which also word every error: a request answers with the same
 * code, field path and message as the CLI on the same input.
 */
import { ACCOUNT_MODES } from '../measures/types.js';
import { LIMITS } from '../pricing/validate.js';
import { TICK_LIMITS } from '../runner/book/health.js';

export type JsonSchema = Record<string, unknown>;

/** Request limits (defaults of `optmargin serve`; see docs/serve.md). */
export interface ServeLimits {
  /** bytes of a request body, every endpoint but PUT /v1/book */
  bodyBytes: number;
  /** bytes of a PUT /v1/book body */
  bookBodyBytes: number;
  /** accounts in one POST /v1/margin */
  accountsPerRequest: number;
  /** positions in one account */
  positionsPerAccount: number;
  /** options in one POST /v1/price or /v1/iv */
  optionsPerRequest: number;
  /** accounts in a book */
  bookAccounts: number;
  /** requests waiting for the engine before new ones are answered 503 */
  queue: number;
  /** ms a request may wait in the queue before it is answered 503 */
  timeoutMs: number;
}

export const DEFAULT_LIMITS: ServeLimits = {
  bodyBytes: 4 * 1024 * 1024,
  bookBodyBytes: 256 * 1024 * 1024,
  accountsPerRequest: 1000,
  positionsPerAccount: 10_000,
  optionsPerRequest: 100_000,
  bookAccounts: 1_000_000,
  queue: 256,
  timeoutMs: 10_000,
};

const CURRENCY = '^[A-Z][A-Z0-9]{1,9}$';

/** Every named schema, by the name the OpenAPI document gives it (components.schemas). */
export interface Schemas {
  Balances: JsonSchema;
  Position: JsonSchema;
  Account: JsonSchema;
  Accounts: JsonSchema;
  MarginBody: JsonSchema;
  OptionInput: JsonSchema;
  PriceBody: JsonSchema;
  IvInput: JsonSchema;
  IvBody: JsonSchema;
  PositionChange: JsonSchema;
  WhatIfBody: JsonSchema;
  LiquidationBody: JsonSchema;
  BookBody: JsonSchema;
  TickBody: JsonSchema;
  TradeBody: JsonSchema;
  Error: JsonSchema;
}

export function buildSchemas(limits: ServeLimits): Schemas {
  const Balances = {
    type: 'object',
    description: 'balances by currency code (BTC, ETH, USDC...), after premiums paid or received',
    propertyNames: { pattern: CURRENCY },
    additionalProperties: { type: 'number' },
  };
  const Position = {
    type: 'object',
    required: ['instrument', 'size'],
    additionalProperties: false,
    properties: {
      instrument: { type: 'string', minLength: 1, description: 'Deribit instrument name', examples: ['BTC-25SEP26-60000-P'] },
      size: { type: 'number', not: { const: 0 }, description: 'signed size: coin for options, linear futures and spot; USD of notional for inverse futures' },
      entryPrice: { type: 'number', exclusiveMinimum: 0, description: 'entry price in the instrument price unit (absent: entered at mark)' },
      collateral: { ...Balances, description: 'isolated mode only: collateral attached to this position' },
    },
  };
  const Account = {
    type: 'object',
    description: 'one account, as `optmargin margin` reads it (docs/margin.md)',
    required: ['id', 'mode'],
    properties: {
      id: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'number' }] },
      mode: { enum: [...ACCOUNT_MODES] },
      collateral: Balances,
      positions: { type: 'array', maxItems: limits.positionsPerAccount, items: Position },
    },
  };
  // each account of a many-account request is validated by the engine, which answers a bad one
  // with its own error result (as the CLI does) instead of rejecting the request
  const Accounts = { type: 'array', maxItems: limits.accountsPerRequest, items: { type: 'object' } };
  const OptionFields = {
    type: { enum: ['call', 'put'] },
    forward: { type: 'number', exclusiveMinimum: 0, description: 'forward, USD per coin' },
    strike: { type: 'number', exclusiveMinimum: 0, description: 'strike, USD per coin' },
    t: { type: 'number', minimum: 0, maximum: LIMITS.maxT, description: 'years to expiry (ACT/365)' },
    rate: { type: 'number', minimum: -LIMITS.maxRate, maximum: LIMITS.maxRate, description: 'continuously compounded rate per year' },
    settlement: { enum: ['linear', 'inverse'], description: 'linear: value in USD; inverse: value in coin (Deribit)' },
  };
  const OptionInput = {
    type: 'object',
    required: ['type', 'forward', 'strike', 'vol', 't'],
    properties: { ...OptionFields, vol: { type: 'number', minimum: 0, maximum: LIMITS.maxVol, description: 'annualised volatility (0.55 = 55 %)' } },
  };
  const IvInput = {
    type: 'object',
    required: ['type', 'forward', 'strike', 't', 'price'],
    properties: { ...OptionFields, price: { type: 'number', minimum: 0, description: 'option price: USD (linear) or coin (inverse)' } },
  };
  const PositionChange = {
    type: 'object',
    required: ['instrument', 'size'],
    properties: { instrument: Position.properties.instrument, size: { type: 'number' }, entryPrice: Position.properties.entryPrice },
  };
  const changes = { type: 'array', maxItems: limits.positionsPerAccount, items: PositionChange };
  const underlying = { type: 'string', pattern: CURRENCY, description: 'underlying coin, e.g. BTC' };
  const Error = {
    type: 'object',
    required: ['ok', 'error'],
    properties: {
      ok: { const: false },
      id: { type: 'string', description: 'the account, when the error is one account’s' },
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string', description: 'stable code (src/errors.ts), e.g. OPTMARGIN_INVALID_INPUT' },
          message: { type: 'string' },
          path: { type: 'string', description: 'the offending field, e.g. positions[0].size' },
        },
      },
    },
  };
  return {
    Balances,
    Position,
    Account,
    Accounts,
    MarginBody: { anyOf: [Account, Accounts] },
    OptionInput,
    PriceBody: { type: 'array', maxItems: limits.optionsPerRequest, items: OptionInput },
    IvInput,
    IvBody: { type: 'array', maxItems: limits.optionsPerRequest, items: IvInput },
    PositionChange,
    WhatIfBody: { type: 'object', required: ['account', 'changes'], additionalProperties: false, properties: { account: Account, changes } },
    LiquidationBody: { type: 'object', required: ['account'], additionalProperties: false, properties: { account: Account, underlying } },
    BookBody: {
      type: 'object',
      additionalProperties: false,
      description: 'a book: its accounts, or a synthetic book to generate; the market is the server’s unless given',
      properties: {
        model: { type: 'string', description: 'preset id (GET /v1/models); default deribit-pm-2024.1 (the vectorized USD grid: generated books mix currencies and modes, which a segregated deribit-pm sub-account cannot hold)' },
        threads: { type: 'integer', minimum: 1, maximum: 64 },
        market: { type: 'object', description: 'a market snapshot in optmargin’s JSON format (docs/market.md)' },
        accounts: { type: 'array', maxItems: limits.bookAccounts, items: { type: 'object' } },
        generate: {
          type: 'object',
          required: ['accounts'],
          additionalProperties: false,
          properties: { accounts: { type: 'integer', minimum: 1, maximum: limits.bookAccounts }, seed: { type: 'integer', minimum: 0, maximum: 4294967295 } },
        },
      },
      oneOf: [{ required: ['accounts'] }, { required: ['generate'] }],
    },
    TickBody: {
      type: 'object',
      required: ['underlying'],
      additionalProperties: false,
      description: 'moves one underlying relative to the market the book was loaded with (moves of other underlyings stay)',
      properties: {
        underlying,
        priceMove: { type: 'number', minimum: TICK_LIMITS.priceMove[0], maximum: TICK_LIMITS.priceMove[1], description: 'relative move of index, perpetual and forwards (−0.05 = −5 %)' },
        index: { type: 'number', exclusiveMinimum: 0, description: 'target index price, USD (instead of priceMove)' },
        volShift: { type: 'number', minimum: TICK_LIMITS.volShift[0], maximum: TICK_LIMITS.volShift[1], description: 'parallel shift of every vol of the underlying (0.05 = +5 vol points)' },
      },
    },
    TradeBody: {
      type: 'object',
      required: ['account', 'changes'],
      additionalProperties: false,
      properties: { account: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'integer', minimum: 0 }] }, changes },
    },
    Error,
  };
}
