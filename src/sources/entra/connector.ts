// The Entra ID source: reads users page by page from Microsoft Graph with exactly the
// properties the mapping needs, the manager as a reference and group memberships on demand,
// and never mistakes a failure for the end of the directory.
import type { AttributeInfo, SourceConnector, SourceQuery, SourceUser, TestResult } from '../../core/types.ts';
import { HttpClient } from '../../core/http.ts';
import { IdsyncError, errorText } from '../../core/errors.ts';
import { resolveSecret } from '../../config/secrets.ts';
import type { ConnectorContext } from '../registry.ts';
import type { EntraConfig } from './config.ts';
import { MANAGER_FIELDS, STATIC_ATTRIBUTES } from './catalogue.ts';
import { explainGraphError, microsoftErrorMessage } from './errors.ts';
import { MembershipReader, type Memberships } from './memberships.ts';
import { assertListable, isGuid, needsAdvancedQuery, odataString, selectFor } from './query.ts';
import { TokenProvider, type Credential } from './token.ts';

interface UserPage {
  value?: Array<Record<string, unknown>>;
  '@odata.nextLink'?: string;
}

const USERS_PERMISSION = 'User.Read.All';
const GROUPS_PERMISSION = 'GroupMember.Read.All';

export class EntraSource implements SourceConnector {
  readonly kind = 'entra';
  readonly graph: HttpClient;
  readonly login: HttpClient;
  readonly tokens: TokenProvider;
  private readonly memberships: MembershipReader;
  private readonly requiredGroups: string[];

  constructor(
    private readonly cfg: EntraConfig,
    ctx: ConnectorContext,
  ) {
    const retry = ctx.fastRetries ? { baseDelayMs: 1, maxDelayMs: 5 } : undefined;
    this.login = new HttpClient({ service: 'Microsoft Entra ID sign-in', baseUrl: cfg.authorityHost, ca: ctx.ca, errorMessage: microsoftErrorMessage, retry, recorder: ctx.recorder });
    this.tokens = new TokenProvider(this.login, {
      tenantId: cfg.tenantId,
      clientId: cfg.clientId,
      resource: cfg.graphUrl,
      credential: () => this.credential(ctx),
    });
    this.graph = new HttpClient({
      service: 'Microsoft Graph',
      baseUrl: `${cfg.graphUrl.replace(/\/+$/, '')}/v1.0`,
      ca: ctx.ca,
      authHeaders: async () => ({ authorization: `Bearer ${await this.tokens.get()}` }),
      onUnauthorized: () => this.tokens.invalidate(),
      errorMessage: microsoftErrorMessage,
      retry,
      recorder: ctx.recorder,
    });
    this.memberships = new MembershipReader(this.graph, { transitive: cfg.transitiveGroups, baseDelayMs: ctx.fastRetries ? 1 : 500 });
    this.requiredGroups = cfg.requiredGroups ?? [];
  }

  private credential(ctx: ConnectorContext): Credential {
    if (this.cfg.clientSecret) return { kind: 'secret', secret: resolveSecret(this.cfg.clientSecret, 'Entra ID clientSecret', ctx.storedSecret) };
    const c = this.cfg.certificate!;
    const certificatePem = c.certificate === undefined ? undefined : typeof c.certificate === 'string' ? c.certificate : resolveSecret(c.certificate, 'Entra ID certificate', ctx.storedSecret).reveal();
    return { kind: 'certificate', privateKey: resolveSecret(c.privateKey, 'Entra ID certificate.privateKey', ctx.storedSecret), certificatePem, thumbprintHex: c.thumbprint };
  }

  async close(): Promise<void> {
    await Promise.all([this.graph.close(), this.login.close()]);
  }

  // ------------------------------------------------------------------ listing

  async *listUsers(query: SourceQuery): AsyncIterable<SourceUser[]> {
    const select = selectFor(query.attributes);
    assertListable(select);
    const advanced = needsAdvancedQuery(this.cfg.filter);
    const params: Record<string, string> = { $select: select.join(','), $top: String(this.cfg.pageSize) };
    // Graph caps $expand=manager pages at 100 whatever $top says; that is expected.
    if (query.manager) params.$expand = `manager($select=${MANAGER_FIELDS.join(',')})`;
    if (this.cfg.filter) params.$filter = this.cfg.filter;
    if (advanced) params.$count = 'true';
    const headers: Record<string, string> = advanced ? { consistencylevel: 'eventual' } : {};

    // Without a groups rule, required groups are checked against their member lists, which
    // costs a few requests per group instead of one per user.
    const requiredIds = this.requiredGroups.length > 0 && !query.groups ? await this.requiredGroupMembers() : undefined;
    const needGroups = query.groups || (this.requiredGroups.length > 0 && !requiredIds);

    const fetchPage = (url: string) =>
      this.graph
        .send<UserPage>({ method: 'GET', url, headers })
        .catch((e) => {
          throw explainGraphError(e, 'list users', USERS_PERMISSION);
        })
        .then((res) => {
          if (!Array.isArray(res.body?.value)) throw new IdsyncError('TRANSIENT', 'Microsoft Graph returned a user page without a value list', { hint: 'retry the run' });
          return res.body;
        });

    // One page of look-ahead: the next page downloads while this one's groups are read and
    // the engine consumes it. At most two pages are held.
    let pending: Promise<UserPage> | undefined = fetchPage(this.graph.resolve('/users', params));
    try {
      while (pending) {
        query.signal?.throwIfAborted();
        const page: UserPage = await pending;
        const next = page['@odata.nextLink'];
        pending = next ? fetchPage(next) : undefined;
        pending?.catch(() => undefined); // observed below; avoids an unhandled rejection if we stop early
        let users = page.value!.map((raw) => toSourceUser(raw, query.manager));
        if (requiredIds) users = users.filter((u) => requiredIds.has(u.id));
        if (needGroups && users.length) users = this.applyMemberships(users, await this.readMemberships(users.map((u) => u.id)), query.groups);
        if (users.length) yield users;
      }
    } finally {
      pending?.catch(() => undefined);
    }
  }

  private async readMemberships(ids: string[]): Promise<Memberships> {
    try {
      return await this.memberships.forUsers(ids);
    } catch (e) {
      throw explainGraphError(e, 'read group memberships', GROUPS_PERMISSION);
    }
  }

  /** Sets `groups`, drops users that vanished meanwhile and, with required groups, non-members. */
  private applyMemberships(users: SourceUser[], memberships: Memberships, keepGroups: boolean): SourceUser[] {
    const required = this.requiredGroups.map((g) => g.toLowerCase());
    const out: SourceUser[] = [];
    for (const u of users) {
      const groups = memberships.get(u.id);
      if (groups === null) continue; // deleted between the user page and the memberOf request
      if (groups === undefined) throw new IdsyncError('INTERNAL', `group memberships of user ${u.id} were not read`);
      if (required.length && !groups.some((g) => required.includes(g.toLowerCase()))) continue;
      if (keepGroups) u.groups = groups;
      out.push(u);
    }
    return out;
  }

  /** Ids of the (transitive, when configured) user members of the required groups. */
  private async requiredGroupMembers(): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const name of this.requiredGroups) {
      const groupId = await this.findGroupId(name);
      const nav = this.cfg.transitiveGroups ? 'transitiveMembers' : 'members';
      let url: string | undefined = this.graph.resolve(`/groups/${groupId}/${nav}/microsoft.graph.user`, { $select: 'id', $top: 999 });
      while (url) {
        const res: { body: UserPage } = await this.graph.get<UserPage>(url).catch((e) => {
          throw explainGraphError(e, `read the members of group '${name}'`, GROUPS_PERMISSION);
        });
        if (!Array.isArray(res.body?.value)) throw new IdsyncError('TRANSIENT', `Microsoft Graph returned a member page of '${name}' without a value list`);
        for (const m of res.body.value) if (typeof m.id === 'string') ids.add(m.id);
        url = res.body['@odata.nextLink'];
      }
    }
    return ids;
  }

  private async findGroupId(displayName: string): Promise<string> {
    const res = await this.graph
      .get<UserPage>('/groups', { $filter: `displayName eq ${odataString(displayName)}`, $select: 'id,displayName' })
      .catch((e) => {
        throw explainGraphError(e, 'look up groups', GROUPS_PERMISSION);
      });
    const found = res.body?.value ?? [];
    if (found.length === 0) {
      throw new IdsyncError('CONFIG', `required group '${displayName}' does not exist in Microsoft Entra ID`, { hint: 'check the group display name in requiredGroups' });
    }
    return String(found[0]!.id);
  }

  // ------------------------------------------------------------------ one user

  async getUser(ref: string, query: SourceQuery): Promise<SourceUser | null> {
    const wanted = ref.trim();
    if (!wanted) return null;
    const select = selectFor(query.attributes).join(',');
    let raw: Record<string, unknown> | undefined;
    try {
      if (isGuid(wanted) || !wanted.includes('@')) {
        const res = await this.graph.send<Record<string, unknown>>({ method: 'GET', url: `/users/${encodeURIComponent(wanted)}`, query: { $select: select }, accept: [404] });
        raw = res.status === 404 ? undefined : res.body;
      } else {
        // A UPN (guests: name_domain#EXT#@tenant) or a mail address; UPN wins if both match.
        const literal = odataString(wanted);
        const res = await this.graph.get<UserPage>('/users', { $filter: `userPrincipalName eq ${literal} or mail eq ${literal}`, $select: select, $top: 10 });
        const found = res.body?.value ?? [];
        raw = found.find((u) => String(u.userPrincipalName).toLowerCase() === wanted.toLowerCase()) ?? found[0];
      }
    } catch (e) {
      throw explainGraphError(e, 'read a user', USERS_PERMISSION);
    }
    if (!raw) return null;
    const user = toSourceUser(raw, false);
    if (query.manager) user.attrs.manager = await this.managerOf(user.id);
    if (query.groups || this.requiredGroups.length) {
      const groups = await this.memberships.forUser(user.id).catch((e) => {
        throw explainGraphError(e, 'read group memberships', GROUPS_PERMISSION);
      });
      if (groups === null) return null;
      user.groups = groups;
    }
    return user;
  }

  private async managerOf(userId: string): Promise<Record<string, unknown> | null> {
    const res = await this.graph
      .send<Record<string, unknown>>({ method: 'GET', url: `/users/${encodeURIComponent(userId)}/manager`, query: { $select: MANAGER_FIELDS.join(',') }, accept: [404] })
      .catch((e) => {
        throw explainGraphError(e, 'read a manager', USERS_PERMISSION);
      });
    return res.status === 404 ? null : managerRef(res.body);
  }

  // ------------------------------------------------------------------ catalogue and checks

  async attributes(): Promise<AttributeInfo[]> {
    const found: AttributeInfo[] = [...STATIC_ATTRIBUTES];
    try {
      const res = await this.graph.send<{ value?: Array<{ name?: string; dataType?: string; appDisplayName?: string; targetObjects?: string[] }> }>({
        method: 'POST',
        url: '/directoryObjects/getAvailableExtensionProperties',
        body: {},
        retryUnsafe: true,
      });
      for (const p of res.body?.value ?? []) {
        if (typeof p.name !== 'string' || (p.targetObjects && !p.targetObjects.includes('User'))) continue;
        const type = p.dataType === 'Boolean' ? 'boolean' : p.dataType === 'Integer' ? 'number' : p.dataType === 'DateTime' ? 'datetime' : 'string';
        found.push({ path: p.name, type, description: p.appDisplayName ? `Directory extension of ${p.appDisplayName}` : 'Directory extension' });
      }
    } catch {
      // Without Directory.Read.All / Application.Read.All the extensions stay undiscovered; typing the name still works.
    }
    try {
      const res = await this.graph.get<UserPage>('/users', { $select: 'id,customSecurityAttributes', $top: 100 });
      const seen = new Set<string>();
      for (const u of res.body?.value ?? []) {
        const sets = u.customSecurityAttributes as Record<string, Record<string, unknown>> | null | undefined;
        for (const [set, attrs] of Object.entries(sets ?? {})) {
          for (const [name, value] of Object.entries(attrs ?? {})) {
            if (name.includes('@odata')) continue;
            const path = `customSecurityAttributes.${set}.${name}`;
            if (seen.has(path)) continue;
            seen.add(path);
            found.push({ path, type: Array.isArray(value) ? 'string[]' : typeof value === 'boolean' ? 'boolean' : typeof value === 'number' ? 'number' : 'string', description: 'Custom security attribute' });
          }
        }
      }
    } catch {
      // Reading custom security attributes needs its own permission; absent means none offered.
    }
    return found;
  }

  async test(): Promise<TestResult> {
    const checks: TestResult['checks'] = [];
    const run = async (name: string, fn: () => Promise<string>) => {
      try {
        checks.push({ name, ok: true, message: await fn() });
        return true;
      } catch (e) {
        checks.push({ name, ok: false, message: errorText(e) });
        return false;
      }
    };
    const signedIn = await run('token', async () => {
      await this.tokens.get();
      return `signed in as application ${this.cfg.clientId} in tenant ${this.cfg.tenantId}`;
    });
    if (signedIn) {
      let sample: Record<string, unknown> | undefined;
      const readUsers = await run('read users', async () => {
        const res = await this.graph.get<UserPage>('/users', { $top: 1, $select: 'id,userPrincipalName' }).catch((e) => {
          throw explainGraphError(e, 'list users', USERS_PERMISSION);
        });
        sample = res.body?.value?.[0];
        return sample ? `can read users (first: ${String(sample.userPrincipalName)})` : 'can read users, but the directory returned none';
      });
      if (readUsers && sample) {
        await run('read manager', async () => {
          const m = await this.managerOf(String(sample!.id));
          return m ? 'can read managers' : 'can read managers (the sample user has none)';
        });
      }
      for (const name of this.requiredGroups) {
        await run(`required group ${name}`, async () => {
          await this.findGroupId(name);
          return `group '${name}' found`;
        });
      }
    }
    return { ok: checks.every((c) => c.ok), checks };
  }
}

function managerRef(raw: Record<string, unknown> | undefined | null): Record<string, unknown> | null {
  if (!raw || typeof raw !== 'object' || typeof raw.id !== 'string') return null;
  return { id: raw.id, mail: raw.mail ?? null, userPrincipalName: raw.userPrincipalName ?? null, displayName: raw.displayName ?? null };
}

/** Graph JSON → SourceUser: annotations dropped, manager resolved to a reference or null. */
export function toSourceUser(raw: Record<string, unknown>, withManager: boolean): SourceUser {
  const attrs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k.startsWith('@odata.') || k === 'manager') continue;
    attrs[k] = v;
  }
  if (withManager) attrs.manager = managerRef(raw.manager as Record<string, unknown> | undefined);
  if (typeof raw.id !== 'string') throw new IdsyncError('TRANSIENT', 'Microsoft Graph returned a user without an id');
  return { id: raw.id, attrs };
}
