// The LDAP / Active Directory source: reads users with paged searches (one page in memory at a
// time), their manager as a DN reference, group memberships from a group index read once per
// listing, and never takes a failure, a dropped connection or a suspicious end for the end of
// the directory. A failed page is retried by reading the search again from the start on a new
// connection (a paged cookie does not survive its connection), skipping users already returned.
import { GuidSet } from '../../core/guid-map.ts';
import type { AttributeInfo, ChangePage, SourceConnector, SourceGroup, SourceQuery, SourceUser, TestResult, UserHit, UserPage } from '../../core/types.ts';
import { IdsyncError } from '../../core/errors.ts';
import { resolveSecret } from '../../config/secrets.ts';
import type { ConnectorContext } from '../registry.ts';
import type { LdapConfig } from './config.ts';
import { settingsFor, andFilter, type LdapSettings } from './presets.ts';
import { LdapConnection, firstText, type RawEntry, type SearchSpec } from './connection.ts';
import { ldapError, retryable } from './errors.ts';
import { buildGroupIndex, type GroupIndex } from './groups.ts';
import { binaryAttributes, entryId, managerAttributes, managerFields, toSourceUser, userSearchAttributes, usernameOf } from './users.ts';
import { catalogueFromSchema, staticAttributes } from './catalogue.ts';
import { filterValue, guidToBytes, normalizeDn } from './values.ts';
import { LdapChanges } from './changes.ts';
import { checklist } from '../../core/checklist.ts';
import { completePage } from '../group-list.ts';

/** New connections a read may open after a transient failure before it gives up. */
const MAX_RESTARTS = 4;

export interface LdapHooks {
  /** Observes each search request (tests count them). */
  onSearch?: (spec: SearchSpec) => void;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });

export class LdapSource implements SourceConnector {
  readonly kind = 'ldap';
  readonly settings: LdapSettings;
  private readonly binary: Set<string>;
  private readonly requiredGroups: string[];
  private readonly backoffMs: number;

  constructor(
    private readonly cfg: LdapConfig,
    private readonly ctx: ConnectorContext,
    private readonly hooks: LdapHooks = {},
  ) {
    this.settings = settingsFor(cfg);
    this.binary = binaryAttributes(this.settings);
    this.requiredGroups = cfg.requiredGroups ?? [];
    this.backoffMs = ctx.fastRetries ? 1 : 1000;
  }

  /** A new bound connection (each read has its own). */
  open(signal?: AbortSignal): Promise<LdapConnection> {
    const ca: string[] = [];
    if (this.cfg.ca) ca.push(typeof this.cfg.ca === 'string' ? this.cfg.ca : resolveSecret(this.cfg.ca, 'LDAP ca', this.ctx.storedSecret).reveal());
    if (this.ctx.ca) ca.push(this.ctx.ca);
    return LdapConnection.open(
      {
        url: this.cfg.url,
        startTls: this.cfg.startTls,
        ca,
        bindDn: this.cfg.bindDn,
        password: () => resolveSecret(this.cfg.bindPassword, 'LDAP bindPassword', this.ctx.storedSecret),
        connectTimeoutMs: this.cfg.connectTimeoutMs,
        timeoutMs: this.cfg.timeoutMs,
      },
      this.hooks.onSearch,
      signal,
    );
  }

  /**
   * Runs `read` on a fresh connection, again on a new one after a transient failure (at most
   * MAX_RESTARTS times, with a growing wait). `read` must itself skip what it already returned.
   */
  async *withRestarts<T>(what: string, signal: AbortSignal | undefined, read: (conn: LdapConnection, attempt: number) => AsyncGenerator<T>): AsyncGenerator<T> {
    for (let attempt = 0; ; attempt++) {
      let conn: LdapConnection | undefined;
      try {
        conn = await this.open(signal);
        yield* read(conn, attempt);
        return;
      } catch (e) {
        if (signal?.aborted) throw signal.reason;
        const err = ldapError(e, { url: this.cfg.url, bindDn: this.cfg.bindDn, what });
        if (!retryable(err) || attempt >= MAX_RESTARTS) throw err;
        await sleep(this.backoffMs * 2 ** attempt, signal);
      } finally {
        await conn?.close();
      }
    }
  }

  userSpec(query: SourceQuery, filter = this.settings.users.filter, withMemberOf = false): SearchSpec {
    const s = this.settings;
    return { base: s.users.baseDn, scope: s.users.scope, filter, attributes: userSearchAttributes(s, query, withMemberOf), binary: this.binary, pageSize: s.pageSize };
  }

  /** Whether a read must know groups: a groups rule, or required groups to filter by. */
  private needsGroups(query: SourceQuery): boolean {
    return query.groups || this.requiredGroups.length > 0;
  }

  /** The required groups' names, checked to exist (a CONFIG error names a missing one). */
  private checkRequired(index: GroupIndex): void {
    for (const name of this.requiredGroups) {
      if (!index.findByName(name)) throw new IdsyncError('CONFIG', `required group '${name}' is not among the groups under ${this.settings.groups.baseDn} (${this.settings.groups.filter})`, { hint: 'check the group name (its cn) in requiredGroups, and groups.baseDn / groups.filter' });
    }
  }

  /** The user as the query wants it, with groups from the index; undefined when required groups leave it out. */
  completeUser(entry: RawEntry, query: SourceQuery, index: GroupIndex | undefined, keepOutOfScope = false): SourceUser | undefined {
    const user = toSourceUser(entry, this.settings, query);
    if (index) {
      const groups = index.groupNames(entry, usernameOf(entry, this.settings));
      if (this.requiredGroups.length) {
        const lower = new Set(groups.map((g) => g.toLowerCase()));
        if (!this.requiredGroups.some((r) => lower.has(r.toLowerCase()))) {
          if (!keepOutOfScope) return undefined;
          user.outOfScope = `not a member of the required groups (${this.requiredGroups.join(', ')})`;
        }
      }
      if (query.groups) user.groups = groups;
    }
    return user;
  }

  // ------------------------------------------------------------------ listing

  async *listUsers(query: SourceQuery): AsyncIterable<UserPage> {
    query.signal?.throwIfAborted();
    const read: { index?: GroupIndex } = {};
    yield* this.readUsers(query, this.settings.users.filter, { confirmEmptyEnd: true, onIndex: (i) => (read.index = i) });
    // The groups the users' names came from (the group base and filter's), for the engine's shadow of groups.
    yield completePage(query.groups ? read.index?.byDn.values() : undefined);
  }

  /**
   * Every user matching `filter`, page by page, each once. Ends normally only when a paged
   * search ended as the server's control says; a search that ended on an empty page (how an
   * early end would look, since LDAP has no count to check against) is read once more and
   * only the users not yet returned are added (`confirmEmptyEnd`, for complete reads; an
   * incremental round that finds nothing would always pay it). With `keepOutOfScope`, users the
   * required groups leave out come with `outOfScope` set instead of being dropped. `onIndex`
   * is given the group index the read built (when it needed groups).
   */
  async *readUsers(query: SourceQuery, filter: string, opts: { keepOutOfScope?: boolean; confirmEmptyEnd?: boolean; onIndex?: (index: GroupIndex) => void } = {}): AsyncGenerator<{ users: SourceUser[] }> {
    const keepOutOfScope = opts.keepOutOfScope ?? false;
    // Every id returned so far (compact, src/core/guid-map.ts): a restart or the re-read of an empty end skips them.
    const seen = new GuidSet();
    let index: GroupIndex | undefined;
    const memberOf = this.settings.membership === 'memberOf' && this.needsGroups(query);
    let confirmed = !opts.confirmEmptyEnd;
    const managers = new Map<string, { id: string; attrs: Record<string, unknown> } | null>();
    yield* this.withRestarts('reading users', query.signal, async function* (this: LdapSource, conn: LdapConnection) {
      if (this.needsGroups(query) && !index) {
        index = await buildGroupIndex(conn, this.settings, query.signal);
        this.checkRequired(index);
        opts.onIndex?.(index);
      }
      for (;;) {
        let endedEmpty = false;
        for await (const page of conn.search(this.userSpec(query, filter, memberOf), 'reading users', query.signal)) {
          endedEmpty = page.length === 0;
          const users: SourceUser[] = [];
          for (const entry of page) {
            const id = entryId(entry, this.settings);
            if (!seen.add(id)) continue;
            const u = this.completeUser(entry, query, index, keepOutOfScope);
            if (u) users.push(u);
          }
          if (users.length && query.manager) await this.attachManagers(conn, users, query, managers);
          if (users.length) yield { users };
        }
        if (!endedEmpty || confirmed) return;
        confirmed = true;
      }
    }.bind(this));
  }

  /**
   * Resolves each manager DN to the manager's entry: the reference then names the manager by
   * its immutable id, with the attributes the mapping reads, so a report read before its
   * manager, or whose manager the filter leaves out, still gets the manager's values (and the
   * engine its username in the target). A DN that names no user under the users base stays a
   * `{key: 'dn'}` reference. One search per page for the managers not met yet (by the preset's
   * DN attribute), on the side connection, cached for the read: there are far fewer managers
   * than users.
   */
  async attachManagers(conn: LdapConnection, users: SourceUser[], query: SourceQuery, cache: Map<string, { id: string; attrs: Record<string, unknown> } | null>): Promise<void> {
    const s = this.settings;
    const fields = managerFields(query);
    const wanted = [...new Set(users.map((u) => (u.manager && 'key' in u.manager ? u.manager.value : undefined)).filter((v) => v !== undefined))].filter((dn) => !cache.has(dn));
    for (let i = 0; i < wanted.length; i += 50) {
      const chunk = wanted.slice(i, i + 50);
      const filter = andFilter(this.cfg.users.objectFilter ?? s.userObjectFilter, `(|${chunk.map((dn) => `(${s.dnAttribute}=${filterValue(dn)})`).join('')})`);
      const spec: SearchSpec = { base: s.users.baseDn, scope: s.users.scope, filter, attributes: [s.idAttribute, s.usernameAttribute, s.mailAttribute, s.nameAttribute, s.disabled.attribute, ...fields], binary: this.binary, pageSize: s.pageSize };
      for (const dn of chunk) cache.set(dn, null);
      const side = await conn.side();
      for await (const page of side.search(spec, 'reading managers', query.signal)) for (const e of page) cache.set(normalizeDn(e.dn), { id: entryId(e, s), attrs: managerAttributes(e, s, fields) });
    }
    for (const u of users) {
      const m = u.manager;
      if (!m || !('key' in m)) continue;
      const found = cache.get(m.value);
      if (found) u.manager = { id: found.id, attrs: found.attrs };
    }
  }

  // ------------------------------------------------------------------ one user

  /** The search filter that finds `ref` as an id, a DN, a mail address or a username. */
  private refFilter(ref: string): string {
    const s = this.settings;
    const alts = [`(${s.usernameAttribute}=${filterValue(ref)})`, `(${s.mailAttribute}=${filterValue(ref)})`];
    if (s.idAttribute.toLowerCase() === 'objectguid') {
      const bytes = guidToBytes(ref);
      if (bytes) alts.push(`(objectGUID=${filterValue(bytes)})`);
    } else if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ref)) {
      alts.push(`(${s.idAttribute}=${filterValue(ref.toLowerCase())})`);
    }
    if (s.preset === 'activeDirectory' && ref.includes('@')) alts.push(`(userPrincipalName=${filterValue(ref)})`);
    return `(|${alts.join('')})`;
  }

  private isDn(ref: string): boolean {
    return /^[A-Za-z][\w-]*=[^,]+,.+=/.test(ref);
  }

  async getUser(ref: string, query: SourceQuery): Promise<SourceUser | null> {
    const wanted = ref.trim();
    if (!wanted) return null;
    const s = this.settings;
    const objectFilter = this.cfg.users.objectFilter ?? s.userObjectFilter;
    const memberOf = s.membership === 'memberOf' && this.needsGroups(query);
    let result: SourceUser | null = null;
    for await (const _ of this.withRestarts('reading a user', query.signal, async function* (this: LdapSource, conn: LdapConnection) {
      const byDn = this.isDn(wanted);
      const spec: SearchSpec = byDn
        ? { ...this.userSpec(query, objectFilter, memberOf), base: wanted, scope: 'base', pageSize: undefined }
        : { ...this.userSpec(query, andFilter(objectFilter, this.refFilter(wanted)), memberOf), pageSize: undefined, sizeLimit: 10 };
      let found: RawEntry[];
      try {
        found = await conn.all(spec, 'reading a user', query.signal);
      } catch (e) {
        if (byDn && e instanceof IdsyncError && (e.cause as { code?: number } | undefined)?.code === 32) found = [];
        else throw e;
      }
      const entry = found.find((e) => firstText(e, s.usernameAttribute)?.toLowerCase() === wanted.toLowerCase()) ?? found[0];
      if (!entry) return;
      const user = toSourceUser(entry, s, query);
      if (query.manager) await this.attachManagers(conn, [user], query, new Map());
      const scope = await this.scopeOf(conn, entry, query.signal);
      if (this.needsGroups(query)) {
        const index = await buildGroupIndex(conn, s, query.signal);
        const groups = index.groupNames(entry, usernameOf(entry, s));
        user.groups = groups;
        const lower = new Set(groups.map((g) => g.toLowerCase()));
        if (this.requiredGroups.length && !this.requiredGroups.some((r) => lower.has(r.toLowerCase()))) user.outOfScope ??= `not a member of the required groups (${this.requiredGroups.join(', ')})`;
        if (!query.groups && !this.requiredGroups.length) delete user.groups;
      }
      if (scope) user.outOfScope = scope;
      result = user;
      yield undefined;
    }.bind(this)));
    return result;
  }

  /** Why a found entry is outside the connector's scope (base DN, scope, filter), or undefined when inside. */
  private async scopeOf(conn: LdapConnection, entry: RawEntry, signal?: AbortSignal): Promise<string | undefined> {
    const s = this.settings;
    const dn = normalizeDn(entry.dn);
    const base = normalizeDn(s.users.baseDn);
    if (dn !== base && !dn.endsWith(`,${base}`)) return `outside users.baseDn ${s.users.baseDn}`;
    if (s.users.scope === 'one' && dn.slice(0, -base.length - 1).match(/(^|[^\\]),/)) return `below the level users.scope 'one' reads in ${s.users.baseDn}`;
    const hits = await conn.all({ base: entry.dn, scope: 'base', filter: s.users.filter, attributes: ['1.1'], binary: new Set() }, 'checking a user against the filter', signal);
    return hits.length ? undefined : `outside the connector's filter: ${s.users.filter}`;
  }

  async searchUsers(text: string, limit: number): Promise<UserHit[]> {
    const wanted = text.trim();
    if (!wanted || limit <= 0) return [];
    const s = this.settings;
    const v = filterValue(wanted);
    const names = [...new Set([s.usernameAttribute, s.mailAttribute, s.nameAttribute, 'cn', 'displayName', 'givenName', 'sn'])];
    const filter = andFilter(s.users.filter, `(|${names.map((n) => `(${n}=${v}*)`).join('')})`);
    const hits: UserHit[] = [];
    for await (const _ of this.withRestarts('searching users', undefined, async function* (this: LdapSource, conn: LdapConnection) {
      hits.length = 0;
      const spec: SearchSpec = { ...this.userSpec({ attributes: [], groups: false, manager: false }, filter), pageSize: Math.min(limit, s.pageSize) };
      for await (const page of conn.search(spec, 'searching users')) {
        for (const e of page) {
          if (hits.length >= limit) break;
          hits.push({ id: entryId(e, s), displayName: firstText(e, s.nameAttribute) ?? null, userPrincipalName: firstText(e, s.usernameAttribute) ?? null, mail: firstText(e, s.mailAttribute) ?? null });
        }
        if (hits.length >= limit) break;
      }
      yield undefined;
    }.bind(this)));
    return hits;
  }

  // ------------------------------------------------------------------ groups and changes

  async *listGroups(query: SourceQuery): AsyncIterable<SourceGroup[]> {
    const s = this.settings;
    const groups: SourceGroup[] = [];
    for await (const _ of this.withRestarts('reading groups', query.signal, async function* (this: LdapSource, conn: LdapConnection) {
      groups.length = 0;
      const index = await buildGroupIndex(conn, s, query.signal);
      // Members are named by DN (or username); the users' listing gives their ids.
      const idByKey = new Map<string, string>();
      const byGroup = new Map<string, string[]>();
      const memberOf = s.membership === 'memberOf';
      const spec = this.userSpec({ attributes: [], groups: false, manager: false }, s.users.filter, memberOf);
      for await (const page of conn.search(spec, 'reading users for group members', query.signal)) {
        for (const e of page) {
          const id = entryId(e, s);
          idByKey.set(normalizeDn(e.dn), id);
          const username = usernameOf(e, s);
          if (username) idByKey.set(`uid:${username.toLowerCase()}`, id);
          if (memberOf) {
            for (const g of index.directGroups(e, username)) {
              // Appended in place: copying the list per member was quadratic in a large group.
              const list = byGroup.get(g);
              if (list) list.push(id);
              else byGroup.set(g, [id]);
            }
          }
        }
      }
      const members = memberOf ? undefined : index.membersByGroup();
      for (const [dn, g] of index.byDn) {
        const ids = memberOf ? (byGroup.get(dn) ?? []) : (members!.get(dn) ?? []).map((k) => idByKey.get(k)).filter((x): x is string => x !== undefined);
        groups.push({ id: g.id, name: g.name, ...(query.groups || true ? { members: [...new Set(ids)] } : {}) });
      }
      yield undefined;
    }.bind(this)));
    for (let i = 0; i < groups.length; i += 100) yield groups.slice(i, i + 100);
  }

  changes(checkpoint: string | null, query: SourceQuery): AsyncIterable<ChangePage> {
    return new LdapChanges(this, this.cfg).changes(checkpoint, query);
  }

  // ------------------------------------------------------------------ catalogue and checks

  async attributes(): Promise<AttributeInfo[]> {
    const found = staticAttributes(this.settings);
    let conn: LdapConnection | undefined;
    try {
      conn = await this.open();
      const [root] = await conn.all({ base: '', scope: 'base', filter: '(objectClass=*)', attributes: ['subschemaSubentry'], binary: new Set() }, 'reading the rootDSE');
      const subschema = root ? firstText(root, 'subschemaSubentry') : undefined;
      if (!subschema) return found;
      const [schema] = await conn.all({ base: subschema, scope: 'base', filter: '(objectClass=subschema)', attributes: ['attributeTypes', 'objectClasses'], binary: new Set() }, 'reading the schema');
      if (!schema) return found;
      const list = (name: string) => [...schema.attrs.entries()].filter(([k]) => k.toLowerCase() === name.toLowerCase()).flatMap(([, v]) => v.map(String));
      return [...found, ...catalogueFromSchema(this.settings, list('attributeTypes'), list('objectClasses'))];
    } catch {
      // Without read access to the schema the static attributes are offered; typing a name still works.
      return found;
    } finally {
      await conn?.close();
    }
  }

  async test(): Promise<TestResult> {
    const { checks, run } = checklist((e) => ldapError(e, { url: this.cfg.url, bindDn: this.cfg.bindDn }));
    const s = this.settings;
    let conn: LdapConnection | undefined;
    try {
      const bound = await run('bind', async () => {
        conn = await this.open();
        return `bound to ${this.cfg.url} as ${this.cfg.bindDn}${this.cfg.url.toLowerCase().startsWith('ldaps:') || this.cfg.startTls ? ' over TLS' : ' (not encrypted: use ldaps:// or startTls)'}`;
      });
      if (!bound || !conn) return { ok: false, checks };
      const c = conn;
      await run('paged results', async () => {
        const [root] = await c.all({ base: '', scope: 'base', filter: '(objectClass=*)', attributes: ['supportedControl'], binary: new Set() }, 'reading the rootDSE');
        const controls = root ? (root.attrs.get('supportedControl') ?? []).map(String) : [];
        if (controls.length && !controls.includes('1.2.840.113556.1.4.319')) throw new IdsyncError('CONFIG', 'the server does not offer paged results (RFC 2696)', { hint: 'idsync reads every search page by page; use a server (or account) that supports it' });
        return 'the server pages searches';
      });
      await run('read users', async () => {
        for await (const page of c.search({ ...this.userSpec({ attributes: [], groups: false, manager: false }), pageSize: 1, sizeLimit: 1 }, 'reading users')) {
          const first = page[0];
          return first ? `can read users under ${s.users.baseDn} (first: ${firstText(first, s.usernameAttribute) ?? first.dn}, id ${entryId(first, s)})` : `can read ${s.users.baseDn}, but no user matches ${s.users.filter}`;
        }
        return 'no answer';
      });
      await run('read groups', async () => {
        for await (const page of c.search({ base: s.groups.baseDn, scope: s.groups.scope, filter: s.groups.filter, attributes: ['cn'], binary: new Set(), pageSize: 1, sizeLimit: 1 }, 'reading groups')) {
          return page[0] ? `can read groups under ${s.groups.baseDn}` : `no group matches ${s.groups.filter} under ${s.groups.baseDn}`;
        }
        return 'no answer';
      });
      if (this.requiredGroups.length) {
        await run('required groups', async () => {
          const index = await buildGroupIndex(c, s);
          this.checkRequired(index);
          return `found ${this.requiredGroups.join(', ')}`;
        });
      }
    } finally {
      await conn?.close();
    }
    return { ok: checks.every((c) => c.ok), checks };
  }

  async close(): Promise<void> {
    // Each read opens and closes its own connection: nothing stays open.
  }
}
