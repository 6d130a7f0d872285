// Delta queries on /users/delta and /groups/delta (also spelt /microsoft.graph.delta), as the
// Graph docs describe them (delta-query-overview, user-delta, group-delta; see
// docs/protocol-facts.md "Delta"):
// - a round is one or more pages: every page but the last has `@odata.nextLink` ($skiptoken),
//   the last has `@odata.deltaLink` ($deltatoken), never both; a nextLink page may be empty;
// - the first request's $select/$filter are encoded in the tokens (opaque, signed here);
// - the initial round returns every object; a round from a deltaLink returns the objects with a
//   change to a *tracked* ($select-ed) property since that token, as full objects (or only the
//   changed properties with `Prefer: return=minimal`), and `@removed` for deleted ones
//   (`changed`: soft-deleted, restorable; `deleted`: gone for good);
// - `manager` / `members` in $select come back as `manager@delta` / `members@delta`, removals
//   marked `@removed`; a large group's members are split over several objects (and pages),
//   the group repeated;
// - `$deltatoken=latest` gives only a deltaLink ("from now");
// - `$filter` only `id eq '…'` joined by `or` (at most 50); `$expand`, `$top`, `$orderby`,
//   `$search`, `$count` are refused; properties stored outside the directory (`skills` & co.) 501;
// - tokens expire: after 7 days of emulated time, or all at once through the control API, with
//   the documented answers (400 syncStateNotFound, 400 resyncRequired, or 410 Gone with a
//   Location to start over).
import { createHmac } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse } from '../common/server.ts';
import type { OrgGroup, OrgUser } from '../org/types.ts';
import { DEFAULT_USER_SELECT, GROUP_PROPERTIES, SINGLE_USER_ONLY, type Directory } from './directory.ts';
import type { ChangeEntry } from './change-log.ts';
import { badRequest, graphError } from './errors.ts';
import { parseSelect } from './odata.ts';
import { projectGroup, projectUser } from './serialize.ts';
import { READ_SECURITY_ATTRIBUTES, notImplemented, type GraphCall, type GraphHandler } from './context.ts';
import { hasAny } from './auth.ts';

/** Graph keeps directory delta tokens for 7 days. */
export const TOKEN_LIFETIME_MS = 7 * 24 * 3600 * 1000;
const MAX_FILTER_IDS = 50;
const REFUSED_OPTIONS = ['$expand', '$top', '$orderby', '$search', '$count', '$skip'];
const DEFAULT_GROUP_DELTA_SELECT = ['displayName', 'description', 'mail', 'mailEnabled', 'mailNickname', 'securityEnabled', 'groupTypes'];
const USER_TYPE = '#microsoft.graph.user';

/** How an expired token is answered (all documented: delta-query-overview, "Token duration" / "resync"). */
export type ExpiryAnswer = 'syncStateNotFound' | 'resyncRequired' | 'gone';

export interface DeltaOptions {
  /** Objects per page (Graph decides its own page size; default 100). */
  pageSize?: number;
  /** Members per `members@delta` list before the group is repeated in another object (default 100). */
  membersPerObject?: number;
}

type Resource = 'users' | 'groups';

/** What a token holds. `mode` initial: paging all objects after `cursor`; changes: log entries in (from, to], `offset` objects done. */
interface TokenState {
  r: Resource;
  /** Change log epoch and expiry generation the token was issued under. */
  e: string;
  x: number;
  /** Emulated issue time (ms) of the round's first token. */
  t: number;
  s: string[] | null;
  f: string[] | null;
  /** Position in the change log: a deltatoken's position, or the round's start. */
  p: number;
  mode: 'initial' | 'changes' | 'delta';
  /** Round end (changes) / last id done (initial users) / [group id, last member id] (initial groups). */
  to?: number;
  offset?: number;
  cursor?: string | [string, string | null] | null;
  min?: boolean;
}

export class DeltaService {
  /**
   * Tokens are signed with a fixed key, so a token of an earlier emulator process still reads
   * and is then answered as Graph answers an unknown sync state (another change-log epoch),
   * not as a forgery.
   */
  private readonly key = Buffer.from('idsync graph emulator delta tokens');
  /** Bumped by expireAll(): older tokens get `expiryAnswer`. */
  private generation = 0;
  private expiryAnswer: ExpiryAnswer = 'syncStateNotFound';
  /** Emulated time ahead of the wall clock (control API), for the 7-day expiry. */
  clockOffsetMs = 0;
  private readonly pageSize: number;
  private readonly membersPerObject: number;

  constructor(opts: DeltaOptions = {}) {
    this.pageSize = opts.pageSize ?? 100;
    this.membersPerObject = opts.membersPerObject ?? 100;
  }

  /** Makes every token issued so far expire, answered as `answer` says. */
  expireAll(answer: ExpiryAnswer = 'syncStateNotFound'): void {
    this.generation++;
    this.expiryAnswer = answer;
  }

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  handler(resource: Resource): GraphHandler {
    return (c) => this.answer(resource, c);
  }

  private answer(resource: Resource, c: GraphCall): EmulatorResponse {
    const { req, dir } = c;
    for (const o of REFUSED_OPTIONS) {
      if (req.query.has(o)) return badRequest(`The query parameter '${o}' is not supported with change tracking over the '${resource}' resource.`);
    }
    const skip = req.query.get('$skiptoken');
    const delta = req.query.get('$deltatoken');
    if (skip !== null && delta !== null) return badRequest('Only one of $skiptoken and $deltatoken can be given.');
    let state: TokenState;
    if (skip !== null || (delta !== null && delta !== 'latest')) {
      const decoded = this.decode(skip ?? delta!, resource, dir, req);
      if ('status' in decoded) return decoded;
      state = decoded;
      if (state.mode === 'delta') {
        if (skip !== null) return badRequest('A delta token was given as a skip token.');
        // A new round: the changes after the token's position up to now.
        state = { ...state, mode: 'changes', to: dir.log.head, offset: 0, t: state.t };
      } else if (delta !== null) return badRequest('A skip token was given as a delta token.');
    } else {
      const query = this.readQuery(resource, req, dir);
      if ('status' in query) return query;
      state = { r: resource, e: dir.log.epoch, x: this.generation, t: this.now(), s: query.select, f: query.filter, p: dir.log.head, mode: 'initial', cursor: null };
      if (delta === 'latest') return this.finalPage(req, resource, state, dir.log.head, []);
    }
    state.min = isMinimal(req);
    return resource === 'users' ? this.userPage(c, state) : this.groupPage(c, state);
  }

  /** $select and $filter of a round's first request, checked as Graph checks them. */
  private readQuery(resource: Resource, req: EmulatorRequest, dir: Directory): { select: string[] | null; filter: string[] | null } | EmulatorResponse {
    const select = parseSelect(req.query.get('$select')) ?? null;
    for (const p of select ?? []) {
      if (resource === 'users') {
        if (SINGLE_USER_ONLY.has(p)) return notImplemented(`The property '${p}' is not supported for change tracking (it is not stored in the directory).`);
        if (p !== 'manager' && !dir.isUserProperty(p)) return badRequest(`Could not find a property named '${p}' on type 'microsoft.graph.user'.`);
      } else if (p !== 'members' && !GROUP_PROPERTIES.has(p)) {
        return badRequest(`Could not find a property named '${p}' on type 'microsoft.graph.group'.`);
      }
    }
    const text = req.query.get('$filter');
    if (text === null || !text.trim()) return { select, filter: null };
    const ids = parseIdFilter(text);
    if (!ids) return badRequest(`Unsupported filter for change tracking: '${text}'. Only 'id eq' clauses joined by 'or' are supported.`);
    if (ids.length > MAX_FILTER_IDS) return badRequest(`Too many objects in the filter: at most ${MAX_FILTER_IDS} ids can be tracked with 'id eq'.`);
    return { select, filter: ids };
  }

  // ------------------------------------------------------------------ users

  private userPage(c: GraphCall, state: TokenState): EmulatorResponse {
    const { dir } = c;
    const select = state.s ?? DEFAULT_USER_SELECT;
    const wantsManager = select.includes('manager');
    const props = select.filter((p) => p !== 'manager');
    const only = state.f ? new Set(state.f) : undefined;
    const canCsa = hasAny(c.grant, READ_SECURITY_ATTRIBUTES);
    const full = (u: OrgUser) => ({ ...projectUser(u, { select: props, canReadSecurityAttributes: canCsa }), id: u.id });
    const managerDelta = (u: OrgUser, previous: string | null | undefined) =>
      u.managerId ? [{ '@odata.type': USER_TYPE, id: u.managerId }] : previous ? [{ '@odata.type': USER_TYPE, id: previous, '@removed': { reason: 'deleted' } }] : [];

    if (state.mode === 'initial') {
      const all = dir.usersInDeltaOrder();
      const after = typeof state.cursor === 'string' ? state.cursor : null;
      let i = after === null ? 0 : firstAfter(all, after);
      const value: unknown[] = [];
      for (; i < all.length && value.length < this.pageSize; i++) {
        const u = all[i]!;
        if (only && !only.has(u.id)) continue;
        const json: Record<string, unknown> = full(u);
        if (wantsManager && u.managerId) json['manager@delta'] = managerDelta(u, null);
        value.push(json);
      }
      if (i < all.length) return this.nextPage(c.req, 'users', { ...state, cursor: (all[i - 1]?.id ?? after) }, value);
      // The round covered the directory as of its start: what changed since is the next round's.
      return this.finalPage(c.req, 'users', state, state.p, value);
    }

    const changes = this.memo(`u|${dir.log.epoch}|${state.p}|${state.to}|${select.join(',')}|${state.f?.join(',') ?? ''}`, () => userChanges(dir.log.between(state.p, state.to!), new Set(props), wantsManager, only));
    const offset = state.offset ?? 0;
    const value = changes.slice(offset, offset + this.pageSize).map(([id, ch]) => {
      const u = dir.userById(id);
      if (!u) return { id, '@removed': { reason: dir.isSoftDeleted(id) ? 'changed' : 'deleted' } };
      let json: Record<string, unknown>;
      if (state.min && !ch.all) {
        json = { id };
        const projected = projectUser(u, { select: [...ch.props], canReadSecurityAttributes: canCsa });
        Object.assign(json, projected);
      } else json = full(u);
      if (wantsManager && (ch.manager || ch.all)) json['manager@delta'] = managerDelta(u, ch.previousManager);
      return json;
    });
    if (offset + this.pageSize < changes.length) return this.nextPage(c.req, 'users', { ...state, offset: offset + this.pageSize }, value);
    return this.finalPage(c.req, 'users', state, state.to!, value);
  }

  // ------------------------------------------------------------------ groups

  private groupPage(c: GraphCall, state: TokenState): EmulatorResponse {
    const { dir } = c;
    const select = state.s ?? DEFAULT_GROUP_DELTA_SELECT;
    const wantsMembers = select.includes('members');
    const props = select.filter((p) => p !== 'members');
    const only = state.f ? new Set(state.f) : undefined;
    const typed = (memberId: string) => ({ '@odata.type': dir.object(memberId)?.type === 'group' ? '#microsoft.graph.group' : USER_TYPE, id: memberId });
    const object = (g: OrgGroup, p: string[] = props) => ({ ...projectGroup(g, p), id: g.id });

    if (state.mode === 'initial') {
      const groups = dir.org.groups.filter((g) => !only || only.has(g.id)).sort((a, b) => cmp(a.id, b.id));
      const [afterGroup, afterMember] = Array.isArray(state.cursor) ? state.cursor : [null, null];
      let gi = afterGroup === null ? 0 : groups.findIndex((g) => g.id >= afterGroup);
      if (gi < 0) gi = groups.length;
      // Members are paged in id order with the last one sent in the token, so a change while
      // the round pages never shifts a member out of it (the change itself is the next round's).
      let resume = gi < groups.length && groups[gi]!.id === afterGroup ? afterMember : null;
      const value: unknown[] = [];
      let cursor: [string, string | null] | undefined;
      outer: while (gi < groups.length) {
        const g = groups[gi]!;
        if (value.length >= this.pageSize) {
          cursor = [g.id, resume];
          break;
        }
        if (!wantsMembers) {
          value.push(object(g));
          gi++;
          continue;
        }
        // Sorted once per group and directory version, not once per page (a group of 1M members spans many pages).
        const members = this.memo(`m|${g.id}|${dir.version}`, () => [...g.members].sort(cmp));
        let start = resume === null ? 0 : members.findIndex((m) => m > resume!);
        if (start < 0) start = members.length;
        resume = null;
        do {
          if (value.length >= this.pageSize) {
            cursor = [g.id, start === 0 ? null : members[start - 1]!];
            break outer;
          }
          const chunk = members.slice(start, start + this.membersPerObject);
          value.push({ ...object(g), 'members@delta': chunk.map(typed) });
          start += chunk.length;
        } while (start < members.length);
        gi++;
      }
      if (cursor) return this.nextPage(c.req, 'groups', { ...state, cursor }, value);
      return this.finalPage(c.req, 'groups', state, state.p, value);
    }

    const units = this.memo(`g|${dir.log.epoch}|${state.p}|${state.to}|${select.join(',')}|${state.f?.join(',') ?? ''}`, () => groupChanges(dir.log.between(state.p, state.to!), new Set(props), wantsMembers, only, this.membersPerObject));
    const offset = state.offset ?? 0;
    const value = units.slice(offset, offset + this.pageSize).map((unit) => {
      const g = dir.group(unit.id);
      if (!g) return { id: unit.id, '@removed': { reason: 'deleted' } };
      const json: Record<string, unknown> = state.min && !unit.all ? { ...projectGroup(g, [...unit.props]), id: g.id } : object(g);
      // A group whose members did not change comes without members@delta (a rename: only its properties).
      if (wantsMembers && unit.members.length > 0) {
        json['members@delta'] = unit.members.map(([m, how]) => (how === 'added' ? typed(m) : { ...typed(m), '@removed': { reason: 'deleted' } }));
      }
      return json;
    });
    if (offset + this.pageSize < units.length) return this.nextPage(c.req, 'groups', { ...state, offset: offset + this.pageSize }, value);
    return this.finalPage(c.req, 'groups', state, state.to!, value);
  }

  /** A round's change list is computed once and reused by its later pages (the log slice it reads never changes). */
  private readonly rounds = new Map<string, unknown>();
  private memo<T>(key: string, compute: () => T): T {
    if (this.rounds.has(key)) return this.rounds.get(key) as T;
    const value = compute();
    if (this.rounds.size >= 16) this.rounds.delete(this.rounds.keys().next().value!);
    this.rounds.set(key, value);
    return value;
  }

  // ------------------------------------------------------------------ tokens and pages

  private nextPage(req: EmulatorRequest, resource: Resource, state: TokenState, value: unknown[]): EmulatorResponse {
    return this.page(req, resource, state, value, { '@odata.nextLink': `${req.origin}${req.path}?$skiptoken=${this.encode(state)}` });
  }

  /** The round's last page: a deltaLink holding position `at`, with the round's query. */
  private finalPage(req: EmulatorRequest, resource: Resource, state: TokenState, at: number, value: unknown[]): EmulatorResponse {
    const token: TokenState = { r: resource, e: state.e, x: state.x, t: this.now(), s: state.s, f: state.f, p: at, mode: 'delta' };
    return this.page(req, resource, state, value, { '@odata.deltaLink': `${req.origin}${req.path}?$deltatoken=${this.encode(token)}` });
  }

  private page(req: EmulatorRequest, resource: Resource, state: TokenState, value: unknown[], link: Record<string, string>): EmulatorResponse {
    const ctx = state.s ? `(${state.s.join(',')})` : '';
    return {
      status: 200,
      // Graph's identity cost table lists delta at 5 resource units (unverified here).
      headers: { 'x-ms-resource-unit': '5', ...(state.min ? { 'preference-applied': 'return=minimal' } : {}) },
      body: { '@odata.context': `${req.origin}/v1.0/$metadata#${resource}${ctx}`, ...link, value },
    };
  }

  private encode(state: TokenState): string {
    const json = Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
    return `${json}.${createHmac('sha256', this.key).update(json).digest('base64url').slice(0, 16)}`;
  }

  private decode(token: string, resource: Resource, dir: Directory, req: EmulatorRequest): TokenState | EmulatorResponse {
    const [json, mac] = token.split('.');
    let state: TokenState | undefined;
    if (json && mac && createHmac('sha256', this.key).update(json).digest('base64url').slice(0, 16) === mac) {
      try {
        state = JSON.parse(Buffer.from(json, 'base64url').toString('utf8')) as TokenState;
      } catch {
        state = undefined;
      }
    }
    if (!state || state.r !== resource) return badRequest(`The token '${token.slice(0, 40)}' is not a valid state token for '${resource}'.`);
    if (state.e !== dir.log.epoch || this.now() - state.t > TOKEN_LIFETIME_MS) return this.expired('syncStateNotFound', resource, state, req);
    if (state.x < this.generation) return this.expired(this.expiryAnswer, resource, state, req);
    return state;
  }

  private expired(answer: ExpiryAnswer, resource: Resource, state: TokenState, req: EmulatorRequest): EmulatorResponse {
    if (answer === 'gone') {
      // "410 Gone … with a Location header containing a delta query URL with an empty token": start over.
      const select = state.s ? `?$select=${state.s.join(',')}` : '';
      const res = graphError(410, 'resyncRequired', 'The delta token is no longer valid; resynchronize from the Location URL.');
      return { ...res, headers: { location: `${req.origin}/v1.0/${resource}/delta${select}` } };
    }
    if (answer === 'resyncRequired') return graphError(400, 'resyncRequired', 'A resynchronization is required: start a new round of change tracking without a token.');
    return graphError(400, 'syncStateNotFound', 'The sync state was not found: the token has expired or is no longer valid. Start a new round of change tracking.');
  }
}

function isMinimal(req: EmulatorRequest): boolean {
  return String(req.headers.prefer ?? '').split(',').some((p) => p.trim().toLowerCase() === 'return=minimal');
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Index of the first user whose id sorts after `id` (binary search over the id-sorted list). */
function firstAfter(users: readonly OrgUser[], id: string): number {
  let lo = 0;
  let hi = users.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (users[mid]!.id <= id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `id eq 'a' or id eq 'b'` → ids; undefined for anything else. */
export function parseIdFilter(text: string): string[] | undefined {
  const clauses = text.split(/\s+or\s+/i);
  const ids: string[] = [];
  for (const c of clauses) {
    const m = /^\s*\(?\s*id\s+eq\s+'([^']*)'\s*\)?\s*$/i.exec(c);
    if (!m) return undefined;
    ids.push(m[1]!);
  }
  return ids;
}

interface UserChange {
  props: Set<string>;
  /** Created or restored: every tracked property counts as changed. */
  all: boolean;
  manager: boolean;
  previousManager?: string | null;
}

/** Users with a tracked change among `entries`, in order of their first such change. */
function userChanges(entries: readonly ChangeEntry[], tracked: ReadonlySet<string>, wantsManager: boolean, only: ReadonlySet<string> | undefined): Array<[string, UserChange]> {
  const out = new Map<string, UserChange>();
  const get = (id: string) => {
    let ch = out.get(id);
    if (!ch) out.set(id, (ch = { props: new Set(), all: false, manager: false }));
    return ch;
  };
  for (const e of entries) {
    if (e.kind !== 'user' || (only && !only.has(e.id))) continue;
    if (e.op === 'changed') {
      const hit = e.props.filter((p) => tracked.has(p));
      if (hit.length) for (const p of hit) get(e.id).props.add(p);
    } else if (e.op === 'manager') {
      if (!wantsManager) continue;
      const ch = get(e.id);
      if (!ch.manager) ch.previousManager = e.previous;
      ch.manager = true;
    } else get(e.id).all = true;
  }
  return [...out];
}

interface GroupUnit {
  id: string;
  props: Set<string>;
  all: boolean;
  members: Array<[string, 'added' | 'removed']>;
}

/** Groups with a tracked change, each split into objects of at most `perObject` member changes. */
function groupChanges(entries: readonly ChangeEntry[], tracked: ReadonlySet<string>, wantsMembers: boolean, only: ReadonlySet<string> | undefined, perObject: number): GroupUnit[] {
  const byGroup = new Map<string, { props: Set<string>; all: boolean; members: Map<string, 'added' | 'removed'> }>();
  const get = (id: string) => {
    let g = byGroup.get(id);
    if (!g) byGroup.set(id, (g = { props: new Set(), all: false, members: new Map() }));
    return g;
  };
  for (const e of entries) {
    if (e.kind !== 'group' || (only && !only.has(e.id))) continue;
    if (e.op === 'memberAdded' || e.op === 'memberRemoved') {
      if (!wantsMembers) continue;
      const g = get(e.id);
      g.members.delete(e.member); // the last change of a member is its state; keep the order of that change
      g.members.set(e.member, e.op === 'memberAdded' ? 'added' : 'removed');
    } else if (e.op === 'changed') {
      const hit = e.props.filter((p) => tracked.has(p));
      if (hit.length) for (const p of hit) get(e.id).props.add(p);
    } else get(e.id).all = true;
  }
  const units: GroupUnit[] = [];
  for (const [id, g] of byGroup) {
    const members = [...g.members];
    if (members.length === 0) units.push({ id, props: g.props, all: g.all, members: [] });
    for (let i = 0; i < members.length; i += perObject) units.push({ id, props: g.props, all: g.all, members: members.slice(i, i + perObject) });
  }
  return units;
}
