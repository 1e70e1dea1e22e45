/**
 * The OpenAPI 3.1 document of `optmargin serve`, generated from the route table and the very
 * schema objects that validate the requests (src/serve/schemas.ts): a named schema appears once
 * under components.schemas and is referenced wherever the same object is used.
 */
import type { JsonSchema, Schemas } from './schemas.js';

export interface QueryParam {
  name: string;
  schema: JsonSchema;
  description: string;
}

/** One endpoint as the server registers it and the document describes it. */
export interface RouteDoc {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  summary: string;
  body?: keyof Schemas;
  query?: QueryParam[];
  /** what a 2xx answer holds */
  returns: string;
  /** media type of the answer when not JSON/msgpack (e.g. text/event-stream) */
  produces?: string;
  /** open without the bearer token */
  public?: boolean;
}

function withRefs(v: unknown, names: Map<object, string>, top: object | null): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v !== top && names.has(v)) return { $ref: `#/components/schemas/${names.get(v)}` };
  if (Array.isArray(v)) return v.map((x) => withRefs(x, names, null));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = withRefs(x, names, null);
  return out;
}

const ERROR_STATUSES: Record<string, string> = {
  '400': 'malformed body, or a field that is not valid (the body names it in error.path)',
  '401': 'missing or wrong bearer token (servers bound to a non-loopback address)',
  '413': 'body or request over a limit (OPTMARGIN_LIMIT_EXCEEDED)',
  '415': 'content type other than JSON or msgpack',
  '422': 'unknown instrument, or market data missing for it',
  '500': 'engine bug (OPTMARGIN_INTERNAL)',
  '503': 'queue full or request timeout (OPTMARGIN_OVERLOADED), with Retry-After',
};

export function openApiDocument(routes: readonly RouteDoc[], schemas: Schemas, version: string, secured: boolean): unknown {
  const names = new Map<object, string>();
  for (const [name, s] of Object.entries(schemas)) if (!names.has(s)) names.set(s, name);
  const components: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(schemas)) components[name] = withRefs(s, names, s);
  const media = (schema: unknown) => ({ 'application/json': { schema }, 'application/msgpack': { schema } });
  const errorRef = { $ref: '#/components/schemas/Error' };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const responses: Record<string, unknown> = { '200': { description: r.returns, ...(r.produces ? { content: { [r.produces]: {} } } : {}) } };
    for (const [status, description] of Object.entries(ERROR_STATUSES)) {
      if (!r.body && (status === '413' || status === '415')) continue;
      if (r.public && status === '401') continue;
      responses[status] = { description, content: media(errorRef) };
    }
    const op: Record<string, unknown> = { summary: r.summary, responses };
    if (r.query?.length) op.parameters = r.query.map((q) => ({ name: q.name, in: 'query', required: false, description: q.description, schema: q.schema }));
    if (r.body) op.requestBody = { required: true, content: media({ $ref: `#/components/schemas/${r.body}` }) };
    if (secured && !r.public) op.security = [{ bearer: [] }];
    (paths[r.url] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'optmargin serve',
      version,
      description:
        'Margin engine over HTTP. Bodies are JSON or msgpack (Content-Type application/json or application/msgpack); answers follow Accept. Amounts in USD unless a field says otherwise. See docs/serve.md.',
    },
    paths,
    components: { schemas: components, ...(secured ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } : {}) },
  };
}
