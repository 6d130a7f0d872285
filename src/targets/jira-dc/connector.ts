// Jira Data Center target: finds, reads and writes users through /rest/api/2.
//
// Decisions worth knowing:
// - Users are addressed by their immutable user key (`?key=`), so a rename never breaks a link.
// - Matching by email uses the user search and keeps exact (case-insensitive) matches only.
//   Jira DC allows several users with one email; when more than one matches, findUser throws
//   CONFLICT (that user fails with the candidates named) instead of guessing or creating a
//   duplicate. The administrator links one by username or fixes the data.
// - Account fields change in one PUT; groups and properties are separate calls, each one's
//   failure is reported on its field while the others still apply.
// - A create that hits "username already exists" (a race, or a retried POST whose first answer
//   was lost) adopts the existing user: it is found by username, updated to the desired values
//   and returned, so the engine links it.
// - A rename (or anonymise) that collides with another user's username fails the account fields
//   with Jira's message plus the other user named; Jira changes nothing when it refuses the PUT.
// - deleteUser treats 404 as deleted already and Jira's 400 refusal as CONFLICT with its reasons.
// - Errors that concern the whole target (credentials, permissions, unreachable) throw.
import { IdsyncError, errorText, isIdsyncError } from '../../core/errors.ts';
import { concernsOnlyThisField } from '../../core/error-policy.ts';
import type { HttpClient } from '../../core/http.ts';
import type {
  FieldChange,
  FieldResult,
  FieldValues,
  Json,
  MatchKeys,
  TargetCapabilities,
  TargetConnector,
  TargetFieldName,
  TargetUser,
  TargetUserRef,
  TestResult,
  UserWrite,
  WriteResult,
} from '../../core/types.ts';
import { jiraErrorMessage } from './client.ts';
import { jiraDcCapabilities, PROPERTY_KEY_MAX, PROPERTY_VALUE_MAX } from './capabilities.ts';
import { groupNames } from '../group-delta.ts';

const API = '/rest/api/2';

/** Target account fields and their names in Jira's user JSON. */
const ACCOUNT_FIELDS = {
  'user.username': 'name',
  'user.displayName': 'displayName',
  'user.email': 'emailAddress',
  'user.active': 'active',
} as const;
type AccountField = keyof typeof ACCOUNT_FIELDS;
const isAccountField = (f: string): f is AccountField => f in ACCOUNT_FIELDS;
const PROPERTY_PREFIX = 'property.';

interface JiraUserJson {
  key: string;
  name: string;
  displayName?: string;
  emailAddress?: string;
  active?: boolean;
  groups?: { size: number; items: Array<{ name: string }> };
}

const fmt = (n: number) => n.toLocaleString('en-US');

export class JiraDcTarget implements TargetConnector {
  readonly kind = 'jira-dc';

  constructor(
    readonly id: string,
    private readonly http: HttpClient,
    /** What signs in, as the connection check names it ("the personal access token"). */
    private readonly credential = 'the personal access token or the username and password',
  ) {}

  capabilities(): TargetCapabilities {
    return jiraDcCapabilities;
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  // ------------------------------------------------------------------ test

  async test(): Promise<TestResult> {
    const checks: TestResult['checks'] = [];
    const done = () => ({ ok: checks.every((c) => c.ok), checks });
    try {
      const info = await this.http.send<{ version?: string; deploymentType?: string }>({
        method: 'GET',
        url: `${API}/serverInfo`,
        accept: [401, 403],
      });
      const what = info.status === 200 ? `Jira ${info.body?.version ?? '(unknown version)'}` : `answered ${info.status}`;
      checks.push({ name: 'reach Jira', ok: true, message: `${this.http.baseUrl}: ${what}` });
    } catch (e) {
      checks.push({ name: 'reach Jira', ok: false, message: errorText(e) });
      return done();
    }
    try {
      const me = await this.http.get<JiraUserJson>(`${API}/myself`);
      checks.push({ name: 'credentials', ok: true, message: `signed in as ${me.body.name}` });
    } catch (e) {
      // Jira answers serverInfo without credentials, so a 401 here means the credential itself was
      // refused: say that, naming the one configured, instead of the HTTP client's generic
      // "check the credentials and permissions" followed by a second, either-or hint.
      const refused = isIdsyncError(e) && e.status === 401;
      checks.push({
        name: 'credentials',
        ok: false,
        message: refused
          ? `Jira did not accept ${this.credential}: it is wrong, expired or revoked (${(e as IdsyncError).message})`
          : `${errorText(e)}; check ${this.credential}`,
      });
      return done();
    }
    try {
      const perms = await this.http.get<{ permissions?: Record<string, { havePermission?: boolean }> }>(`${API}/mypermissions`, {
        permissions: 'ADMINISTER',
      });
      const admin = perms.body.permissions?.ADMINISTER?.havePermission === true;
      checks.push({
        name: 'administrator',
        ok: admin,
        message: admin
          ? 'has the Jira Administrators global permission'
          : 'this account lacks the Jira Administrators global permission, which creating and updating users needs',
      });
    } catch (e) {
      checks.push({ name: 'administrator', ok: false, message: errorText(e) });
    }
    return done();
  }

  // ------------------------------------------------------------------ reading

  async findUser(keys: MatchKeys, fields: TargetFieldName[] = []): Promise<TargetUser | null> {
    const expand = fields.includes('groups');
    let found: JiraUserJson | null = null;
    if (keys.key) found = await this.getUser({ key: keys.key }, expand);
    if (!found && keys.username) found = await this.getUser({ username: keys.username }, expand);
    if (!found && keys.email) {
      const byEmail = await this.searchByEmail(keys.email);
      if (byEmail) found = expand ? await this.getUser({ key: byEmail.key }, true) : byEmail;
    }
    return found ? this.toTargetUser(found, fields) : null;
  }

  async readUser(ref: TargetUserRef, fields: TargetFieldName[]): Promise<TargetUser | null> {
    const user = await this.getUser({ key: ref.key }, fields.includes('groups'));
    return user ? this.toTargetUser(user, fields) : null;
  }

  private async getUser(by: { key: string } | { username: string }, expandGroups: boolean): Promise<JiraUserJson | null> {
    const res = await this.http.send<JiraUserJson>({
      method: 'GET',
      url: `${API}/user`,
      query: { ...by, expand: expandGroups ? 'groups' : undefined },
      accept: [404],
    });
    return res.status === 404 ? null : res.body;
  }

  /** The one user whose email is exactly `email` (ignoring case); CONFLICT when several are. */
  private async searchByEmail(email: string): Promise<JiraUserJson | null> {
    const wanted = email.trim().toLowerCase();
    const matches: JiraUserJson[] = [];
    // Jira 10 caps user search at 100 results (startAt + maxResults, JRASERVER-78660); Jira 9
    // allowed 1,000. Pages of 100 work on both; an exact email has few prefix matches anyway.
    const pageSize = 100;
    for (let startAt = 0; ; startAt += pageSize) {
      const page = await this.http.get<JiraUserJson[]>(`${API}/user/search`, {
        username: email.trim(),
        includeActive: true,
        includeInactive: true,
        startAt,
        maxResults: pageSize,
      });
      matches.push(...page.body.filter((u) => (u.emailAddress ?? '').toLowerCase() === wanted));
      if (page.body.length < pageSize) break;
    }
    if (matches.length > 1) {
      throw new IdsyncError('CONFLICT', `${matches.length} Jira users have the email ${email}: ${matches.map((u) => u.name).join(', ')}`, {
        hint: 'idsync does not guess; give the users distinct emails in Jira or match this user by username',
      });
    }
    return matches[0] ?? null;
  }

  private async toTargetUser(u: JiraUserJson, fields: TargetFieldName[]): Promise<TargetUser> {
    const values: FieldValues = {
      'user.username': u.name,
      'user.displayName': u.displayName ?? null,
      'user.email': u.emailAddress ?? null,
      'user.active': u.active ?? true,
    };
    if (fields.includes('groups')) {
      values.groups = (u.groups?.items ?? []).map((g) => g.name).sort();
    }
    for (const f of fields) {
      if (f.startsWith(PROPERTY_PREFIX)) values[f] = await this.readProperty(u.key, f.slice(PROPERTY_PREFIX.length));
    }
    return { ref: { key: u.key, username: u.name }, values };
  }

  private async readProperty(userKey: string, prop: string): Promise<Json> {
    const res = await this.http.send<{ value?: Json }>({
      method: 'GET',
      url: `${API}/user/properties/${encodeURIComponent(prop)}`,
      query: { userKey },
      accept: [404],
    });
    return res.status === 404 ? null : (res.body?.value ?? null);
  }

  // ------------------------------------------------------------------ deleting

  /**
   * DELETE /user?key=. A 404 means the user is gone already (the wanted state, e.g. a retried
   * delete whose first answer was lost). Jira validates first and answers 400 with its reasons
   * (the user leads a project, is the caller): that becomes CONFLICT naming them, so the
   * administrator can resolve it. Nothing is half-done: Jira deletes nothing when it refuses.
   */
  async deleteUser(ref: TargetUserRef): Promise<void> {
    const res = await this.http.send({ method: 'DELETE', url: `${API}/user`, query: { key: ref.key }, accept: [400, 404] });
    if (res.status === 400) {
      throw new IdsyncError('CONFLICT', `Jira refused to delete ${ref.username ?? ref.key}: ${describeBody(res.status, res.body)}`, {
        status: 400,
        // Not "deactivate instead": Jira refuses deactivating a project lead as well.
        hint: 'resolve what Jira names (for a project lead: give the project another lead in Jira) and run again; until then the user stays',
      });
    }
  }

  // ------------------------------------------------------------------ writing

  async write(request: UserWrite): Promise<WriteResult> {
    if (request.op === 'create') return this.create(request);
    if (!request.ref) throw new IdsyncError('INTERNAL', 'an update needs the Jira user key (ref) of the user');
    return this.update(request.ref, request.changes, request.options);
  }

  private async create(request: UserWrite): Promise<WriteResult> {
    const d = request.desired;
    // What a create needs is checked while planning (missingForCreate); Jira refuses the rest.
    const body: Record<string, unknown> = {
      name: d['user.username'],
      displayName: d['user.displayName'],
      emailAddress: d['user.email'],
    };
    if (typeof d['user.active'] === 'boolean') body.active = d['user.active'];

    let created: JiraUserJson;
    try {
      // Safe to repeat: a duplicate answers "username exists", which adopts the user below.
      created = (await this.http.send<JiraUserJson>({ method: 'POST', url: `${API}/user`, body, retryUnsafe: true })).body;
    } catch (e) {
      if (!isUsernameTaken(e)) throw e;
      return this.adopt(request, e as IdsyncError);
    }
    const ref: TargetUserRef = { key: created.key, username: created.name };
    const fields: FieldResult[] = Object.keys(ACCOUNT_FIELDS)
      .filter((f) => d[f] !== undefined)
      .map((field) => ({ field, ok: true }));
    // Everything else is applied as changes against an empty user (nothing to clear there).
    const rest: FieldChange[] = Object.entries(d)
      .filter(([f, v]) => !isAccountField(f) && v !== null && v !== undefined)
      .map(([field, after]) => ({ field, before: undefined, after, add: field === 'groups' ? groupNames(after) : undefined, remove: [] }));
    fields.push(...(await this.applyOtherFields(ref, rest, request.options)));
    return { ref, fields };
  }

  /** The username exists already: link that user and bring it to the desired values. */
  private async adopt(request: UserWrite, cause: IdsyncError): Promise<WriteResult> {
    const username = String(request.desired['user.username']);
    const existingFields = Object.keys(request.desired).filter((f) => f === 'groups' || f.startsWith(PROPERTY_PREFIX));
    const existing = await this.findUser({ username }, existingFields);
    if (!existing) throw cause;
    // The engine's matching policy decides whether an existing account may be taken over.
    const refused = await request.options.mayAdopt?.(existing.ref);
    if (refused) throw new IdsyncError('CONFLICT', `${cause.message}; not adopted: ${refused}`, { hint: 'rename one of the accounts, or change the target\'s matching policy' });
    const changes: FieldChange[] = [];
    for (const [field, after] of Object.entries(request.desired)) {
      const before = existing.values[field];
      if (field === 'groups') {
        const have = new Set(groupNames(before));
        const add = groupNames(after).filter((g) => !have.has(g));
        if (add.length) changes.push({ field, before, after, add, remove: [] });
      } else if (JSON.stringify(before ?? null) !== JSON.stringify(after ?? null)) {
        changes.push({ field, before, after });
      }
    }
    return this.update(existing.ref, changes, request.options);
  }

  private async update(ref: TargetUserRef, changes: FieldChange[], options: UserWrite['options']): Promise<WriteResult> {
    const fields: FieldResult[] = [];
    let current = { ...ref };
    const account = changes.filter((c) => isAccountField(c.field));
    if (account.length) {
      const outcome = await this.updateAccount(ref, account);
      fields.push(...outcome.results);
      if (outcome.username) current = { ...current, username: outcome.username };
    }
    fields.push(...(await this.applyOtherFields(current, changes.filter((c) => !isAccountField(c.field)), options)));
    return { ref: current, fields };
  }

  /** One PUT for every changed account field; they succeed or fail together, as Jira does. */
  private async updateAccount(ref: TargetUserRef, changes: FieldChange[]): Promise<{ results: FieldResult[]; username?: string }> {
    const body: Record<string, unknown> = {};
    const results: FieldResult[] = [];
    const sent: string[] = [];
    for (const c of changes) {
      const field = c.field as AccountField;
      const after = c.after;
      if (field === 'user.active' ? typeof after !== 'boolean' : typeof after !== 'string' || after === '') {
        results.push({ field, ok: false, error: `Jira cannot clear ${field}; it needs a ${field === 'user.active' ? 'true/false' : 'non-empty'} value` });
        continue;
      }
      body[ACCOUNT_FIELDS[field]] = after;
      sent.push(field);
    }
    if (!sent.length) return { results };
    try {
      const res = await this.http.send<JiraUserJson>({ method: 'PUT', url: `${API}/user`, query: { key: ref.key }, body });
      results.push(...sent.map((field) => ({ field, ok: true })));
      return { results, username: res.body?.name ?? (body.name as string | undefined) };
    } catch (e) {
      if (!concernsOnlyThisField(e) || isIdsyncError(e, 'NOT_FOUND')) throw e; // NOT_FOUND: the user is gone
      const error = errorText(e) + (await this.usernameHolder(ref, body.name, e));
      results.push(...sent.map((field) => ({ field, ok: false, error })));
      return { results };
    }
  }

  /** When a rename was refused because the name is taken: " (the username belongs to …)", else "". */
  private async usernameHolder(ref: TargetUserRef, wanted: unknown, e: unknown): Promise<string> {
    if (typeof wanted !== 'string' || !/username/i.test(errorText(e))) return '';
    const other = await this.getUser({ username: wanted }, false).catch(() => null);
    if (!other || other.key === ref.key) return '';
    return ` (the username ${wanted} belongs to another Jira user, key ${other.key}, ${other.displayName ?? other.name}; nothing was changed)`;
  }

  /** Groups, properties and anything this target does not know; each reports on its own field. */
  private async applyOtherFields(ref: TargetUserRef, changes: FieldChange[], options: UserWrite['options']): Promise<FieldResult[]> {
    const results: FieldResult[] = [];
    for (const c of changes) {
      try {
        if (c.field === 'groups') results.push(await this.applyGroups(ref, c, options));
        else if (c.field.startsWith(PROPERTY_PREFIX)) results.push(await this.applyProperty(ref, c));
        else results.push({ field: c.field, ok: false, error: `Jira Data Center cannot write ${c.field}` });
      } catch (e) {
        if (!concernsOnlyThisField(e)) throw e;
        results.push({ field: c.field, ok: false, error: errorText(e) });
      }
    }
    return results;
  }

  private async applyProperty(ref: TargetUserRef, c: FieldChange): Promise<FieldResult> {
    const prop = c.field.slice(PROPERTY_PREFIX.length);
    const url = `${API}/user/properties/${encodeURIComponent(prop)}`;
    if (!prop || prop.length > PROPERTY_KEY_MAX) {
      return { field: c.field, ok: false, error: `property key is ${prop.length} characters; Jira allows 1 to ${PROPERTY_KEY_MAX}` };
    }
    if (c.after === null || c.after === undefined) {
      // Already absent is the wanted state.
      await this.http.send({ method: 'DELETE', url, query: { userKey: ref.key }, accept: [404] });
      return { field: c.field, ok: true };
    }
    const json = JSON.stringify(c.after);
    // Jira counts the request body in bytes (UTF-8), not characters: 20,000 "é" are 40,002 bytes.
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > PROPERTY_VALUE_MAX) {
      return { field: c.field, ok: false, error: `value is ${fmt(bytes)} bytes of JSON (UTF-8); Jira allows ${fmt(PROPERTY_VALUE_MAX)}` };
    }
    await this.http.send({ method: 'PUT', url, query: { userKey: ref.key }, body: json });
    return { field: c.field, ok: true };
  }

  private async applyGroups(ref: TargetUserRef, c: FieldChange, options: UserWrite['options']): Promise<FieldResult> {
    const before = new Set(groupNames(c.before));
    const after = new Set(groupNames(c.after));
    const add = c.add ?? [...after].filter((g) => !before.has(g));
    const remove = c.remove ?? [...before].filter((g) => !after.has(g));
    if (!add.length && !remove.length) return { field: 'groups', ok: true };
    const username = ref.username ?? (await this.usernameOf(ref));
    const failures: string[] = [];
    // Removals first: cut short, a user is in neither group, never in both (docs/architecture.md).
    for (const group of remove) {
      const problem = await this.removeFromGroup(ref, username, group);
      if (problem) failures.push(problem);
    }
    for (const group of add) {
      const problem = await this.addToGroup(ref, username, group, options.createMissingGroups);
      if (problem) failures.push(problem);
    }
    return failures.length ? { field: 'groups', ok: false, error: failures.join('; ') } : { field: 'groups', ok: true };
  }

  /** Adds one membership; returns a readable problem, or undefined when the user is a member. */
  private async addToGroup(ref: TargetUserRef, username: string, group: string, createMissing: boolean): Promise<string | undefined> {
    let res = await this.postMembership(username, group);
    if (res.status === 404) {
      // The group was missing when we tried. It may exist by now (another worker of this run,
      // or an administrator, created it meanwhile); either way the add is tried once more.
      if (!(await this.groupExists(group))) {
        if (!createMissing) {
          return `group "${group}" does not exist in Jira; create it there or turn on "create missing groups"`;
        }
        await this.http.send({ method: 'POST', url: `${API}/group`, body: { name: group }, accept: [400], retryUnsafe: true });
      }
      res = await this.postMembership(username, group);
    }
    if (res.status < 300) return undefined;
    // Jira answers 400 to an existing membership; whatever the wording, the membership decides.
    if (await this.isMember(ref, group)) return undefined;
    return `could not add to group "${group}": Jira answered ${res.status}: ${describeBody(res.status, res.body)}`;
  }

  private postMembership(username: string, group: string) {
    return this.http.send({
      method: 'POST',
      url: `${API}/group/user`,
      query: { groupname: group },
      body: { name: username },
      accept: [400, 404],
      retryUnsafe: true, // adding twice is harmless: "already a member" is checked by addToGroup
    });
  }

  private async removeFromGroup(ref: TargetUserRef, username: string, group: string): Promise<string | undefined> {
    const res = await this.http.send({
      method: 'DELETE',
      url: `${API}/group/user`,
      query: { groupname: group, username },
      accept: [400, 404],
    });
    if (res.status < 300) return undefined;
    // Not a member (any more), or the group is gone: the wanted state either way.
    if (!(await this.isMember(ref, group))) return undefined;
    return `could not remove from group "${group}": Jira answered ${res.status}: ${describeBody(res.status, res.body)}`;
  }

  async groupExists(group: string): Promise<boolean> {
    const res = await this.http.send({ method: 'GET', url: `${API}/group/member`, query: { groupname: group, maxResults: 1 }, accept: [404] });
    return res.status !== 404;
  }

  private async isMember(ref: TargetUserRef, group: string): Promise<boolean> {
    const user = await this.getUser({ key: ref.key }, true);
    if (!user) throw new IdsyncError('NOT_FOUND', `Jira user with key ${ref.key} no longer exists`);
    return (user.groups?.items ?? []).some((g) => g.name.toLowerCase() === group.toLowerCase());
  }

  private async usernameOf(ref: TargetUserRef): Promise<string> {
    const user = await this.getUser({ key: ref.key }, false);
    if (!user) throw new IdsyncError('NOT_FOUND', `Jira user with key ${ref.key} no longer exists`);
    return user.name;
  }
}

function isUsernameTaken(e: unknown): boolean {
  if (isIdsyncError(e, 'CONFLICT')) return true;
  return isIdsyncError(e, 'BAD_REQUEST') && /username: .*already exists/i.test(e.message);
}

function describeBody(status: number, body: unknown): string {
  return jiraErrorMessage(status, body) ?? 'no details';
}
