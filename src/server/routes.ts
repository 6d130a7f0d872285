// Declares REST routes once: the same declaration registers the Fastify handler, validates the
// request with zod, enforces who may call it, and becomes the route's entry in the OpenAPI
// document. A route cannot exist without an access rule or without documentation.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { IdsyncError } from '../core/errors.ts';
import type { Principal } from './auth.ts';

export type Access = 'public' | 'viewer' | 'administrator';
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteSpec<B extends z.ZodType, Q extends z.ZodType> {
  method: Method;
  /** Fastify path, e.g. `/api/v1/connectors/:id`. */
  path: string;
  summary: string;
  tag: string;
  access: Access;
  body?: B;
  query?: Q;
  /** Schema of the success answer (documentation; JSON answers only). */
  response?: z.ZodType;
  /** Success status (default 200). */
  status?: number;
  /** Non-JSON answers, e.g. `text/csv`. */
  produces?: string;
  /** Extra answers worth documenting, e.g. `{409: 'a run is in progress'}`. */
  errors?: Record<number, string>;
}

export interface RouteContext<B, Q> {
  req: FastifyRequest;
  reply: FastifyReply;
  body: B;
  query: Q;
  params: Record<string, string>;
  principal: Principal | undefined;
}

/** An error answer: status, a sentence for a person, and optional placed issues. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export interface FieldIssue {
  /** Where: e.g. ['targets', 0, 'mapping', 2, 'source']. */
  path: Array<string | number>;
  message: string;
  /** Character offset inside an expression, for syntax errors. */
  position?: number;
}

export const errorBody = z.object({
  error: z.string(),
  issues: z.array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string(), position: z.number().optional() })).optional(),
});

/** Finds who is calling (session cookie or bearer token) and whether CSRF is satisfied. */
export type Authenticator = (req: FastifyRequest) => Promise<{ principal?: Principal; csrfOk: boolean; error?: string }>;

interface Documented {
  spec: RouteSpec<z.ZodType, z.ZodType>;
}

type Caller = Awaited<ReturnType<Authenticator>>;

export class ApiRouter {
  readonly routes: Documented[] = [];
  /** Who called, found in onRequest (before the body is read) and used by the handler. */
  private readonly callers = new WeakMap<FastifyRequest, Caller>();

  constructor(
    private readonly app: FastifyInstance,
    private readonly authenticate: Authenticator,
    /** Body limits: small where anyone may call, larger once the caller is authenticated. */
    private readonly bodyLimits: { public: number; authenticated: number },
  ) {}

  route<B extends z.ZodType = z.ZodUndefined, Q extends z.ZodType = z.ZodUndefined>(
    spec: RouteSpec<B, Q>,
    handler: (ctx: RouteContext<z.output<B>, z.output<Q>>) => Promise<unknown>,
  ): void {
    this.routes.push({ spec: spec as unknown as RouteSpec<z.ZodType, z.ZodType> });
    this.app.route({
      method: spec.method,
      url: spec.path,
      // The larger limit is only reachable by a caller already authenticated: onRequest runs
      // before the body is read, so an anonymous request to such a route is refused unread.
      bodyLimit: spec.access === 'public' ? this.bodyLimits.public : this.bodyLimits.authenticated,
      onRequest: async (req) => {
        const who = await this.authenticate(req);
        if (spec.access !== 'public') {
          if (!who.principal) throw new HttpError(401, who.error ?? 'log in or send an API token (Authorization: Bearer ...)');
          if (spec.access === 'administrator' && who.principal.role !== 'administrator') {
            throw new HttpError(403, 'this needs the administrator role; your account is read-only');
          }
        }
        if (spec.method !== 'GET' && who.principal?.via === 'session' && !who.csrfOk) {
          throw new HttpError(403, 'missing or wrong CSRF token: reload the page and try again');
        }
        this.callers.set(req, who);
      },
      handler: async (req, reply) => {
        const who = this.callers.get(req)!;
        const body = spec.body ? parse(spec.body, req.body ?? {}, 'body') : undefined;
        const query = spec.query ? parse(spec.query, req.query ?? {}, 'query') : undefined;
        const result = await handler({ req, reply, body: body as never, query: query as never, params: (req.params ?? {}) as Record<string, string>, principal: who.principal });
        if (reply.sent) return reply;
        reply.code(spec.status ?? 200);
        return result;
      },
    });
  }

  /** The OpenAPI 3.1 document for every declared route. */
  openapi(info: { title: string; version: string }): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const { spec } of this.routes) {
      const path = spec.path.replace(/:(\w+)/g, '{$1}');
      const params = [...spec.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
      if (spec.query) {
        const qs = jsonSchema(spec.query, 'input') as { properties?: Record<string, unknown>; required?: string[] };
        for (const [name, schema] of Object.entries(qs.properties ?? {})) {
          params.push({ name, in: 'query', required: qs.required?.includes(name) ?? false, schema } as never);
        }
      }
      const responses: Record<string, unknown> = {};
      const ok = String(spec.status ?? 200);
      if (spec.produces) responses[ok] = { description: 'OK', content: { [spec.produces]: { schema: { type: 'string' } } } };
      else if (spec.response) responses[ok] = { description: 'OK', content: { 'application/json': { schema: jsonSchema(spec.response, 'output') } } };
      else responses[ok] = { description: 'OK' };
      const err = { content: { 'application/json': { schema: jsonSchema(errorBody, 'output') } } };
      if (spec.body || spec.query) responses['400'] = { description: 'Invalid input; `issues` place each problem', ...err };
      if (spec.access !== 'public') responses['401'] = { description: 'Not logged in and no valid API token', ...err };
      if (spec.access === 'administrator' || spec.method !== 'GET') responses['403'] = { description: 'Read-only role, or missing CSRF token on a browser session', ...err };
      for (const [status, description] of Object.entries(spec.errors ?? {})) responses[status] = { description, ...err };
      paths[path] ??= {};
      paths[path][spec.method.toLowerCase()] = {
        summary: spec.summary,
        tags: [spec.tag],
        'x-idsync-access': spec.access,
        ...(spec.access === 'public' ? { security: [] } : {}),
        parameters: params,
        ...(spec.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(spec.body, 'input') } } } } : {}),
        responses,
      };
    }
    return {
      openapi: '3.1.0',
      info,
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'idsync_session', description: 'Browser session; state-changing requests also need the X-CSRF-Token header (value of the idsync_csrf cookie)' },
          token: { type: 'http', scheme: 'bearer', description: 'API token created under Settings → API tokens' },
        },
      },
      security: [{ session: [] }, { token: [] }],
      paths,
    };
  }
}

function parse<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const res = schema.safeParse(value);
  if (res.success) return res.data;
  const issues: FieldIssue[] = res.error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message }));
  throw new HttpError(400, `invalid request ${where}: ${issues.map((i) => `${i.path.join('.') || where}: ${i.message}`).join('; ')}`, { issues });
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): unknown {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

/** Turns any thrown value into the API's error answer. Never includes a stack or a secret. */
export function errorReply(e: unknown): { status: number; body: Record<string, unknown> } {
  if (e instanceof HttpError) return { status: e.status, body: { error: e.message, ...e.extra } };
  if (e instanceof IdsyncError) {
    const status = { BAD_REQUEST: 400, CONFIG: 400, CONFLICT: 409, NOT_FOUND: 404, AUTH: 502, TRANSIENT: 502, RATE_LIMITED: 503, CHECKPOINT_EXPIRED: 502, INTERNAL: 500 }[e.code];
    return { status, body: { error: e.describe(), code: e.code } };
  }
  const fe = e as { statusCode?: number; message?: string; validation?: unknown };
  if (fe?.statusCode && fe.statusCode < 500) return { status: fe.statusCode, body: { error: fe.message ?? 'bad request' } };
  return { status: 500, body: { error: 'internal error; see the server log' } };
}
