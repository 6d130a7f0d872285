// The inbound SCIM 2.0 endpoint (RFC 7644) of every connector whose source is `scim`:
// /scim/v2/<connector>/Users, /Groups, /ServiceProviderConfig, /ResourceTypes, /Schemas.
// Outside the admin UI's session auth: each request carries one of the connector's bearer
// tokens (repo.ts). Every accepted write is stored first (durable) and answered at once; the
// push into Atlassian follows in batches (push.ts), so an answer never waits on a target.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../../../store/index.ts';
import { jsonNestedDeeperThan, MAX_JSON_DEPTH } from '../../../server/json-body.ts';
import { ScimRepo, UniquenessError, type ResourceType, type ScimJson, type StoredResource } from '../repo.ts';
import { ScimError, errorBody, etagOf, externalIdOf, keyOf, nameOf, normaliseAttributes, present, splitUrn, GROUP_SCHEMA, USER_SCHEMA } from '../model.ts';
import { indexedKey, matches, parseFilter } from '../filter.ts';
import { applyPatch, patchOps } from '../patch.ts';
import { MAX_RESULTS, listOf, resourceTypes, schemas, serviceProviderConfig } from '../discovery.ts';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';
/** Largest SCIM request body: a group PUT with every member of a large group fits. */
export const SCIM_BODY_LIMIT = 2 * 1024 * 1024;

export interface ScimRouteOptions {
  store: Store;
  /** Told after every accepted write (the push batcher). */
  onWrite(connectorId: string): void;
  bodyLimit?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    scimConnector?: string;
  }
}

export async function scimRoutes(app: FastifyInstance, opts: ScimRouteOptions): Promise<void> {
  const repo = new ScimRepo(opts.store.db);
  const bodyLimit = opts.bodyLimit ?? SCIM_BODY_LIMIT;

  const parseBody = (_req: FastifyRequest, body: string, done: (err: Error | null, v?: unknown) => void) => {
    if (jsonNestedDeeperThan(body, MAX_JSON_DEPTH)) return done(new ScimError(400, `the JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`, 'invalidSyntax'));
    try {
      done(null, body === '' ? undefined : JSON.parse(body));
    } catch (e) {
      done(new ScimError(400, `the body is not valid JSON: ${(e as Error).message.slice(0, 120)}`, 'invalidSyntax'));
    }
  };
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/scim+json', 'application/json'], { parseAs: 'string', bodyLimit }, (req, body, done) => parseBody(req, body as string, done));

  app.setErrorHandler((e, req, reply) => {
    const err = e as Error & { code?: string; statusCode?: number };
    let status = 500;
    let detail = 'the SCIM request failed inside idsync; the server log has the details';
    let scimType: string | undefined;
    if (e instanceof ScimError) ({ status, message: detail, scimType } = { status: e.status, message: e.message, scimType: e.scimType });
    else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') ((status = 413), (detail = `the request body is larger than the ${Math.round(bodyLimit / 1024 / 1024)} MB this endpoint accepts; split it (e.g. fewer members per PATCH)`));
    else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') ((status = 415), (detail = 'send the body as application/scim+json (or application/json)'));
    else if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') ((status = 400), (detail = 'the body is empty'), (scimType = 'invalidSyntax'));
    else if (typeof err.statusCode === 'number' && err.statusCode < 500) ((status = err.statusCode), (detail = err.message));
    if (status >= 500) req.log.error({ err: e }, 'SCIM request failed');
    void reply.code(status).type(SCIM_CONTENT_TYPE).send(errorBody(status, detail, scimType as ScimError['scimType']));
  });

  // Who may call: a live token of the connector named in the path (which must be a SCIM connector).
  app.addHook('onRequest', async (req, reply) => {
    const connectorId = (req.params as { connector?: string }).connector ?? '';
    const header = req.headers.authorization ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const ok = token !== undefined && (await repo.verifyToken(connectorId, token));
    if (!ok) {
      void reply.code(401).header('www-authenticate', 'Bearer realm="idsync SCIM"').type(SCIM_CONTENT_TYPE)
        .send(errorBody(401, token ? 'the bearer token is not valid for this connector (wrong, revoked, or for another connector); create one with `idsync scim token create <connector>` or in the API' : 'authentication required: send the connector\'s SCIM token as "Authorization: Bearer <token>"'));
      return reply;
    }
    const stored = await opts.store.connectors.get(connectorId);
    if (!stored || stored.config.source.type !== 'scim') {
      void reply.code(404).type(SCIM_CONTENT_TYPE).send(errorBody(404, `connector ${connectorId} is not a SCIM connector (any more)`));
      return reply;
    }
    req.scimConnector = connectorId;
  });

  const prefix = '/scim/v2/:connector';
  const base = (req: FastifyRequest) => `${req.protocol}://${req.host}/scim/v2/${req.scimConnector}`;
  const send = (reply: FastifyReply, status: number, body: unknown, etag?: string) => {
    if (etag) reply.header('etag', etag);
    return reply.code(status).type(SCIM_CONTENT_TYPE).send(body);
  };

  app.get(`${prefix}/ServiceProviderConfig`, async (req, reply) => send(reply, 200, serviceProviderConfig(base(req))));
  app.get(`${prefix}/ResourceTypes`, async (req, reply) => send(reply, 200, listOf(resourceTypes(base(req)))));
  app.get(`${prefix}/ResourceTypes/:id`, async (req, reply) => {
    const found = resourceTypes(base(req)).find((r) => r.id === (req.params as { id: string }).id);
    if (!found) throw new ScimError(404, 'no such resource type (User and Group are served)');
    return send(reply, 200, found);
  });
  app.get(`${prefix}/Schemas`, async (req, reply) => send(reply, 200, listOf(schemas(base(req)))));
  app.get(`${prefix}/Schemas/:id`, async (req, reply) => {
    const found = schemas(base(req)).find((s) => s.id === (req.params as { id: string }).id);
    if (!found) throw new ScimError(404, 'no such schema');
    return send(reply, 200, found);
  });

  for (const type of ['User', 'Group'] as const) {
    const path = `${prefix}/${type}s`;
    /** The answer form of a stored resource (a user's groups, a group's members unless excluded). */
    const render = async (req: FastifyRequest, r: StoredResource, projection: Projection, groupsOf?: Map<string, Array<{ id: string; name: string }>>): Promise<ScimJson> => {
      const extra: ScimJson = {};
      if (type === 'Group' && projection.wants('members')) {
        extra.members = (await repo.members(req.scimConnector!, r.id)).map((u) => ({ value: u, $ref: `${base(req)}/Users/${u}`, type: 'User' }));
      }
      if (type === 'User' && projection.wants('groups')) {
        const gs = groupsOf?.get(r.id) ?? (await groupRefs(repo, req.scimConnector!, [r.id])).get(r.id) ?? [];
        if (gs.length) extra.groups = gs.map((g) => ({ value: g.id, display: g.name, $ref: `${base(req)}/Groups/${g.id}` }));
      }
      return projection.apply(present(r, base(req), extra));
    };
    const load = async (req: FastifyRequest): Promise<StoredResource> => {
      const id = (req.params as { id: string }).id;
      const r = await repo.get(req.scimConnector!, type, id);
      if (!r) throw new ScimError(404, `${type} ${id} not found`);
      return r;
    };
    const checkIfMatch = (req: FastifyRequest, r: StoredResource) => {
      const want = req.headers['if-match'];
      if (want && want !== '*' && !String(want).split(',').map((s) => s.trim()).includes(etagOf(r.version))) {
        throw new ScimError(412, `the ${type} changed since that version (If-Match ${want}; it is ${etagOf(r.version)} now); read it again`);
      }
    };
    const bodyObject = (req: FastifyRequest): ScimJson => {
      const b = req.body;
      if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new ScimError(400, `the body must be a ${type} resource (a JSON object)`, 'invalidSyntax');
      const s = (b as ScimJson).schemas;
      if (s !== undefined && (!Array.isArray(s) || !s.some((x) => typeof x === 'string' && x.toLowerCase() === (type === 'User' ? USER_SCHEMA : GROUP_SCHEMA).toLowerCase()))) {
        throw new ScimError(400, `schemas must include ${type === 'User' ? USER_SCHEMA : GROUP_SCHEMA}`, 'invalidValue');
      }
      return b as ScimJson;
    };
    const membersOf = (body: ScimJson): string[] | undefined => {
      const k = keyOf(body, 'members');
      if (k === undefined) return undefined;
      const m = body[k];
      if (m === null) return [];
      if (!Array.isArray(m)) throw new ScimError(400, 'members must be an array of {"value": user id}', 'invalidValue');
      return m.map((x) => (typeof x === 'object' && x !== null ? (x as ScimJson).value : undefined)).map((v) => {
        if (typeof v !== 'string' || !v) throw new ScimError(400, 'each member needs a "value" (the user\'s id)', 'invalidValue');
        return v;
      });
    };
    const uniqueness = async <T>(f: () => Promise<T>): Promise<T> => {
      try {
        return await f();
      } catch (e) {
        if (e instanceof UniquenessError) throw new ScimError(409, e.message, 'uniqueness');
        throw e;
      }
    };

    app.post(path, { bodyLimit }, async (req, reply) => {
      const body = bodyObject(req);
      const members = type === 'Group' ? membersOf(body) : undefined;
      const { members: _m, ...rest } = body;
      const resource = normaliseAttributes(type === 'Group' ? rest : body, type);
      const created = await uniqueness(() => repo.create(req.scimConnector!, type, resource, nameOf(resource, type), externalIdOf(resource)));
      let r = created;
      if (members?.length) {
        await repo.changeMembers(req.scimConnector!, r.id, members, []);
        r = (await repo.get(req.scimConnector!, type, r.id)) ?? r;
      }
      opts.onWrite(req.scimConnector!);
      reply.header('location', `${base(req)}/${type}s/${r.id}`);
      return send(reply, 201, await render(req, r, projectionOf(req)), etagOf(r.version));
    });

    app.get(`${path}/:id`, async (req, reply) => {
      const r = await load(req);
      return send(reply, 200, await render(req, r, projectionOf(req)), etagOf(r.version));
    });

    app.get(path, async (req, reply) => {
      const q = req.query as Record<string, unknown>;
      const startIndex = intParam(q.startIndex, 'startIndex', 1);
      const count = Math.min(intParam(q.count, 'count', 100), MAX_RESULTS);
      const projection = projectionOf(req);
      const connectorId = req.scimConnector!;
      let all: StoredResource[];
      let filtered = false;
      const filter = typeof q.filter === 'string' && q.filter.trim() !== '' ? parseFilter(q.filter) : undefined;
      const key = filter ? indexedKey(filter) : undefined;
      if (key) {
        if (key.attr === 'id') all = [await repo.get(connectorId, type, key.value)].filter((r): r is StoredResource => !!r);
        else if (key.attr === 'externalid') all = await repo.byExternalId(connectorId, type, key.value);
        else if ((key.attr === 'username') === (type === 'User')) all = [await repo.byName(connectorId, type, key.value)].filter((r): r is StoredResource => !!r && !r.deletedAt);
        else all = [];
      } else if (filter) {
        // No index answers it: every resource is tested (what the filter reads is in the answer form).
        all = [];
        filtered = true;
        for (let after: string | null = null; ; ) {
          const page = await repo.page(connectorId, type, after, 500);
          if (page.length === 0) break;
          const groups = type === 'User' ? await groupRefs(repo, connectorId, page.map((r) => r.id)) : undefined;
          for (const r of page) {
            const members = type === 'Group' ? (await repo.members(connectorId, r.id)).map((value) => ({ value })) : undefined;
            const view = present(r, base(req), { ...(members ? { members } : {}), ...(groups?.get(r.id) ? { groups: groups.get(r.id)!.map((g) => ({ value: g.id, display: g.name })) } : {}) });
            if (matches(filter, view)) all.push(r);
          }
          after = page[page.length - 1]!.id;
        }
      } else {
        const total = await repo.count(connectorId, type);
        // Unfiltered: only the page asked for is read (ids in order; startIndex is 1-based).
        const page = count === 0 ? [] : await pageAt(repo, connectorId, type, startIndex - 1, count);
        const groups = type === 'User' && projection.wants('groups') ? await groupRefs(repo, connectorId, page.map((r) => r.id)) : undefined;
        const rendered = await Promise.all(page.map((r) => render(req, r, projection, groups)));
        return send(reply, 200, listOf(rendered, total, startIndex));
      }
      void filtered;
      const slice = count === 0 ? [] : all.slice(startIndex - 1, startIndex - 1 + count);
      const groups = type === 'User' && projection.wants('groups') ? await groupRefs(repo, connectorId, slice.map((r) => r.id)) : undefined;
      const rendered = await Promise.all(slice.map((r) => render(req, r, projection, groups)));
      return send(reply, 200, listOf(rendered, all.length, startIndex));
    });

    app.put(`${path}/:id`, { bodyLimit }, async (req, reply) => {
      const body = bodyObject(req);
      const members = type === 'Group' ? (membersOf(body) ?? []) : undefined;
      const { members: _m, ...rest } = body;
      const resource = normaliseAttributes(type === 'Group' ? rest : body, type);
      const name = nameOf(resource, type);
      const externalId = externalIdOf(resource);
      let r: StoredResource | undefined;
      for (let attempt = 0; attempt < 5 && !r; attempt++) {
        const current = await load(req);
        checkIfMatch(req, current);
        r = await uniqueness(() => repo.replace(req.scimConnector!, type, current.id, current.version, resource, name, externalId));
      }
      if (!r) throw new ScimError(409, `the ${type} kept changing while it was replaced; try again`);
      if (members) {
        await repo.changeMembers(req.scimConnector!, r.id, members, [], true);
        r = (await repo.get(req.scimConnector!, type, r.id)) ?? r;
      }
      opts.onWrite(req.scimConnector!);
      return send(reply, 200, await render(req, r, projectionOf(req)), etagOf(r.version));
    });

    app.patch(`${path}/:id`, { bodyLimit }, async (req, reply) => {
      const ops = patchOps(req.body);
      let r: StoredResource | undefined;
      let memberChange: ReturnType<typeof applyPatch>['members'] | undefined;
      for (let attempt = 0; attempt < 5 && !r; attempt++) {
        const current = await load(req);
        checkIfMatch(req, current);
        const patched = applyPatch(current.resource ?? {}, ops, type);
        memberChange = patched.members;
        const resource = normaliseAttributes(patched.resource, type);
        if (JSON.stringify(resource) === JSON.stringify(current.resource)) {
          r = current; // nothing changed in the resource itself (e.g. only members): no new version
          break;
        }
        r = await uniqueness(() => repo.replace(req.scimConnector!, type, current.id, current.version, resource, nameOf(resource, type), externalIdOf(resource)));
      }
      if (!r) throw new ScimError(409, `the ${type} kept changing while it was patched; try again`);
      const m = memberChange!;
      if (m.replaceAll || m.add.length || m.remove.length) {
        await repo.changeMembers(req.scimConnector!, r.id, m.add, m.remove, m.replaceAll);
        r = (await repo.get(req.scimConnector!, type, r.id)) ?? r;
      }
      opts.onWrite(req.scimConnector!);
      // Groups: 204 (their members can be many thousands; Entra and Okta need no body back).
      if (type === 'Group') return reply.code(204).header('etag', etagOf(r.version)).send();
      return send(reply, 200, await render(req, r, projectionOf(req)), etagOf(r.version));
    });

    app.delete(`${path}/:id`, async (req, reply) => {
      const current = await load(req);
      checkIfMatch(req, current);
      if (!(await repo.delete(req.scimConnector!, type, current.id))) throw new ScimError(404, `${type} ${current.id} not found`);
      opts.onWrite(req.scimConnector!);
      return reply.code(204).send();
    });
  }

  app.all(`${prefix}/*`, async (req) => {
    throw new ScimError(404, `no SCIM resource at ${req.url.split('?')[0]}; this endpoint serves Users, Groups, ServiceProviderConfig, ResourceTypes and Schemas`);
  });
}

async function groupRefs(repo: ScimRepo, connectorId: string, userIds: string[]): Promise<Map<string, Array<{ id: string; name: string }>>> {
  // Names come from groupsOf; ids from the member rows (one group name per id: names are unique).
  const names = await repo.groupsOf(connectorId, userIds);
  const out = new Map<string, Array<{ id: string; name: string }>>();
  for (const [u, list] of names) {
    const refs: Array<{ id: string; name: string }> = [];
    for (const n of list) {
      const g = await repo.byName(connectorId, 'Group', n);
      if (g) refs.push({ id: g.id, name: n });
    }
    out.set(u, refs);
  }
  return out;
}

async function pageAt(repo: ScimRepo, connectorId: string, type: ResourceType, offset: number, count: number): Promise<StoredResource[]> {
  let after: string | null = null;
  let skipped = 0;
  while (skipped < offset) {
    const step = Math.min(1000, offset - skipped);
    const page = await repo.page(connectorId, type, after, step);
    if (page.length === 0) return [];
    skipped += page.length;
    after = page[page.length - 1]!.id;
  }
  return repo.page(connectorId, type, after, count);
}

function intParam(v: unknown, name: string, dflt: number): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new ScimError(400, `${name} must be an integer`, 'invalidValue');
  // RFC 7644 §3.4.2.4: a startIndex below 1 is taken as 1, a negative count as 0.
  return name === 'startIndex' ? Math.max(1, n) : Math.max(0, n);
}

interface Projection {
  wants(attr: string): boolean;
  apply(res: ScimJson): ScimJson;
}

/** attributes / excludedAttributes (RFC 7644 §3.9); id, schemas and meta are always returned. */
function projectionOf(req: FastifyRequest): Projection {
  const q = req.query as Record<string, unknown>;
  const list = (v: unknown) => (typeof v === 'string' && v.trim() ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);
  const only = list(q.attributes);
  const excluded = list(q.excludedAttributes);
  const parts = (p: string) => {
    if (p.toLowerCase().startsWith('urn:')) {
      const s = splitUrn(p);
      const core = s.schema.toLowerCase() === USER_SCHEMA.toLowerCase() || s.schema.toLowerCase() === GROUP_SCHEMA.toLowerCase();
      return core ? (s.attr ?? '').split('.') : [s.schema, ...(s.attr ? s.attr.split('.') : [])];
    }
    return p.split('.');
  };
  const onlyParts = only.map(parts);
  const exParts = excluded.map(parts);
  const has = (ps: string[][], top: string) => ps.some((p) => p[0]!.toLowerCase() === top.toLowerCase());
  return {
    wants: (attr) => (only.length === 0 || has(onlyParts, attr)) && !exParts.some((p) => p.length === 1 && p[0]!.toLowerCase() === attr.toLowerCase()),
    apply(res) {
      const always = new Set(['id', 'schemas', 'meta']);
      let out: ScimJson = res;
      if (only.length) {
        out = {};
        for (const [k, v] of Object.entries(res)) {
          if (always.has(k)) out[k] = v;
          const wanted = onlyParts.filter((p) => p[0]!.toLowerCase() === k.toLowerCase());
          if (wanted.length === 0) continue;
          if (wanted.some((p) => p.length === 1) || typeof v !== 'object' || v === null) out[k] = v;
          else {
            const subs = new Set(wanted.map((p) => p[1]!.toLowerCase()));
            const pick = (o: ScimJson) => Object.fromEntries(Object.entries(o).filter(([sk]) => subs.has(sk.toLowerCase())));
            out[k] = Array.isArray(v) ? v.map((e) => (typeof e === 'object' && e !== null ? pick(e as ScimJson) : e)) : pick(v as ScimJson);
          }
        }
      }
      for (const p of exParts) {
        const k = keyOf(out, p[0]!);
        if (!k || always.has(k)) continue;
        if (out === res) out = { ...res };
        if (p.length === 1) delete out[k];
        else if (typeof out[k] === 'object' && out[k] !== null && !Array.isArray(out[k])) {
          const inner = { ...(out[k] as ScimJson) };
          const sk = keyOf(inner, p[1]!);
          if (sk) delete inner[sk];
          out[k] = inner;
        }
      }
      return out;
    },
  };
}
