// Atlassian Crowd as a target, through the usermanagement REST API as an application.
// - Users are linked by Crowd's immutable user key (Crowd 2.7+), so renames keep the link.
// - Crowd's PUT /user replaces the whole user, so account fields are written read-modify-write
//   in one PUT with every field filled in.
// - Crowd needs a first and a last name. `crowd.firstName` / `crowd.lastName` may be mapped;
//   when they are not, both are derived from the display name (last word = last name; a
//   single-word name becomes both), and re-derived whenever the display name changes.
// - `crowd.attribute.<name>` is multi-valued: a list is written as is, a scalar as one value.
// - New users get a random password nobody knows: people sign in through their own directory
//   or SSO, or an administrator resets it.
import { randomBytes } from 'node:crypto';
import { IdsyncError, errorText } from '../../core/errors.ts';
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
import { CrowdApi, type CrowdUserEntity, type CrowdUserWrite } from './api.ts';
import { groupDelta, removeMemberships } from '../group-delta.ts';

/** Crowd stores names, emails and attribute values in 255-character columns. */
export const CROWD_MAX = 255;
const ATTR = 'crowd.attribute.';

const ACCOUNT_FIELDS = ['user.displayName', 'user.email', 'user.active', 'crowd.firstName', 'crowd.lastName'] as const;

export const crowdCapabilities: TargetCapabilities = {
  kind: 'crowd',
  canCreateUsers: true,
  // Crowd deactivates (`active` in the user), deletes (DELETE /user) and renames (POST /user/rename)
  // keeping the user key (Crowd 2.7+). See docs/protocol-facts.md.
  lifecycle: {
    disable: true,
    delete: true,
    anonymise: true,
    renameUsername: true,
    removeAccess: false,
    reasons: {
      removeAccess: 'Crowd deactivates users instead, which stops them signing in to every connected application; use "disable".',
    },
  },
  fields: [
    { name: 'user.username', type: 'string', label: 'Username', requiredOnCreate: true, maxLength: CROWD_MAX, description: 'Changing it renames the Crowd user; the link (user key) stays.' },
    { name: 'user.displayName', type: 'string', label: 'Display name', requiredOnCreate: true, maxLength: CROWD_MAX },
    { name: 'user.email', type: 'string', label: 'Email', requiredOnCreate: true, maxLength: CROWD_MAX },
    { name: 'user.active', type: 'boolean', label: 'Active' },
    {
      name: 'crowd.firstName',
      type: 'string',
      label: 'First name',
      maxLength: CROWD_MAX,
      description: 'Optional: when not mapped, derived from the display name (all but the last word).',
    },
    {
      name: 'crowd.lastName',
      type: 'string',
      label: 'Last name',
      maxLength: CROWD_MAX,
      description: 'Optional: when not mapped, derived from the display name (its last word).',
    },
    { name: 'groups', type: 'string[]', label: 'Groups', description: 'Direct group memberships by name. idsync removes only memberships it added.' },
    {
      name: ATTR,
      type: 'string[]',
      label: 'Custom attribute',
      maxLength: CROWD_MAX,
      description: 'A Crowd user attribute (multi-valued strings, each at most 255 characters). A single value becomes a one-element list.',
    },
  ],
};

export class CrowdTarget implements TargetConnector {
  readonly kind = 'crowd';

  constructor(
    readonly id: string,
    private readonly http: HttpClient,
    private readonly api: CrowdApi,
  ) {}

  capabilities(): TargetCapabilities {
    return crowdCapabilities;
  }

  async test(): Promise<TestResult> {
    const checks: TestResult['checks'] = [];
    try {
      await this.api.testSearch();
      checks.push({ name: 'application credentials', ok: true, message: 'the application may search users' });
    } catch (e) {
      checks.push({ name: 'application credentials', ok: false, message: errorText(e) });
      return { ok: false, checks };
    }
    try {
      await this.api.user({ key: 'idsync-connection-test' });
      checks.push({ name: 'user lookup', ok: true, message: 'users can be read by key' });
    } catch (e) {
      checks.push({ name: 'user lookup', ok: false, message: `${errorText(e)} (idsync needs Crowd 2.7 or later for user keys)` });
    }
    return { ok: checks.every((c) => c.ok), checks };
  }

  async findUser(keys: MatchKeys, fields: TargetFieldName[] = []): Promise<TargetUser | null> {
    let user: CrowdUserEntity | null = null;
    if (keys.key) user = await this.api.user({ key: keys.key });
    if (!user && keys.username) user = await this.api.user({ username: keys.username });
    if (!user && keys.email) {
      const found = await this.api.usersByEmail(keys.email);
      if (found.length > 1) {
        throw new IdsyncError('CONFLICT', `several Crowd users have the email ${keys.email}: ${found.map((u) => u.name).join(', ')}`, {
          hint: 'give the source a username mapping so idsync can tell them apart',
        });
      }
      if (found[0]) user = await this.api.user({ username: found[0].name });
    }
    return user ? this.toTargetUser(user, fields) : null;
  }

  async readUser(ref: TargetUserRef, fields: TargetFieldName[]): Promise<TargetUser | null> {
    const user = await this.api.user({ key: ref.key });
    return user ? this.toTargetUser(user, fields) : null;
  }

  async write(request: UserWrite): Promise<WriteResult> {
    return request.op === 'create' ? this.create(request) : this.update(request);
  }

  /**
   * Crowd deletes by username, so the current name is read by key first (a rename elsewhere
   * must not delete the wrong user). Gone by key, or a 404 on the delete: deleted already.
   * Crowd's refusal (403 APPLICATION_PERMISSION_DENIED: the application may not remove users
   * in that directory) is CONFLICT with what to change.
   */
  async deleteUser(ref: TargetUserRef): Promise<void> {
    const current = await this.api.user({ key: ref.key });
    if (!current) return;
    const refused = await this.api.deleteUser(current.name);
    if (refused) {
      throw new IdsyncError('CONFLICT', `Crowd refused to delete ${current.name}: ${refused}`, {
        status: 403,
        hint: "allow this application to remove users in the directory's permissions in Crowd, or deactivate users instead",
      });
    }
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  // ------------------------------------------------------------ create

  private async create(request: UserWrite): Promise<WriteResult> {
    const d = request.desired;
    for (const f of ['user.username', 'user.displayName', 'user.email'] as const) {
      if (typeof d[f] !== 'string' || d[f] === '') throw new IdsyncError('BAD_REQUEST', `${f} is required to create a Crowd user`);
      const problem = invalid(f, d[f]);
      if (problem) throw new IdsyncError('BAD_REQUEST', problem);
    }
    const username = d['user.username'] as string;
    const body = accountBody(username, emptyAccount(), Object.entries(d).map(([field, after]) => ({ field, before: undefined, after })), d);
    if (d['user.active'] === undefined) body.active = true;

    const outcome = await this.api.createUser(body, newPassword());
    if (outcome === 'exists') {
      // Created behind idsync's back (or our own earlier attempt): adopt it and bring it to the desired values.
      const existing = await this.api.user({ username });
      if (!existing) {
        throw new IdsyncError('CONFLICT', `Crowd says a user named ${username} exists, but it cannot be read`, {
          hint: 'check that the user is in a directory this application may see',
        });
      }
      const current = valuesOf(existing);
      const changes: FieldChange[] = Object.entries(d)
        .filter(([f]) => f !== 'groups' && !f.startsWith(ATTR))
        .map(([field, after]) => ({ field, before: current[field], after }));
      if (Array.isArray(d.groups)) changes.push({ field: 'groups', before: [], after: d.groups, add: d.groups as string[], remove: [] });
      for (const [f, v] of Object.entries(d)) if (f.startsWith(ATTR)) changes.push({ field: f, before: undefined, after: v });
      return this.update({ ...request, op: 'update', ref: refOf(existing), changes });
    }

    const created = await this.api.user({ username });
    if (!created) throw new IdsyncError('TRANSIENT', `Crowd created ${username} but does not return it yet`);
    const fields: FieldResult[] = ['user.username', ...ACCOUNT_FIELDS].filter((f) => f in d).map((field) => ({ field, ok: true }));
    if (Array.isArray(d.groups) && d.groups.length) {
      const change: FieldChange = { field: 'groups', before: [], after: d.groups, add: d.groups as string[], remove: [] };
      fields.push(await this.guard('groups', () => this.applyGroups(created.name, change, request.options.createMissingGroups)));
    }
    for (const [field, value] of Object.entries(d)) {
      if (!field.startsWith(ATTR)) continue;
      const problem = invalid(field, value);
      fields.push(problem ? { field, ok: false, error: problem } : await this.guard(field, () => this.applyAttribute(created.name, field, value)));
    }
    return { ref: refOf(created), fields };
  }

  // ------------------------------------------------------------ update

  private async update(request: UserWrite): Promise<WriteResult> {
    if (!request.ref) throw new IdsyncError('INTERNAL', 'an update needs the user reference');
    if (request.changes.length === 0) return { ref: request.ref, fields: [] };
    const current = await this.api.user({ key: request.ref.key });
    if (!current) throw new IdsyncError('NOT_FOUND', `the Crowd user ${request.ref.username ?? request.ref.key} no longer exists`, { status: 404 });

    const results = new Map<FieldChange, FieldResult>();
    const valid: FieldChange[] = [];
    for (const c of request.changes) {
      const problem = invalid(c.field, c.after);
      if (problem) results.set(c, { field: c.field, ok: false, error: problem });
      else valid.push(c);
    }

    let username = current.name;
    const rename = valid.find((c) => c.field === 'user.username');
    if (rename && rename.after !== current.name) {
      const r = await this.guard(rename.field, () => this.api.rename(current.name, rename.after as string));
      if (r.ok) username = rename.after as string;
      results.set(rename, r);
    } else if (rename) results.set(rename, { field: rename.field, ok: true });

    const account = valid.filter((c) => (ACCOUNT_FIELDS as readonly string[]).includes(c.field));
    if (account.length) {
      const body = accountBody(username, current, account, request.desired);
      const r = await this.guard('account', () => this.api.updateUser(username, body));
      for (const c of account) results.set(c, { ...r, field: c.field });
    }
    for (const c of valid) {
      if (c.field === 'groups') results.set(c, await this.guard(c.field, () => this.applyGroups(username, c, request.options.createMissingGroups)));
      else if (c.field.startsWith(ATTR)) results.set(c, await this.guard(c.field, () => this.applyAttribute(username, c.field, c.after)));
      else if (!results.has(c)) results.set(c, { field: c.field, ok: false, error: `${c.field} is not a Crowd field` });
    }
    return { ref: { key: current.key ?? username, username }, fields: request.changes.map((c) => results.get(c)!) };
  }

  /** Runs one write; a failure becomes that field's error, unless it concerns the whole target. */
  private async guard(field: string, fn: () => Promise<unknown>): Promise<FieldResult> {
    try {
      await fn();
      return { field, ok: true };
    } catch (e) {
      if (!concernsOnlyThisField(e)) throw e;
      return { field, ok: false, error: errorText(e) };
    }
  }

  private async applyGroups(username: string, change: FieldChange, createMissing: boolean): Promise<void> {
    // Crowd's own names are compared exactly, as before.
    const { add, remove } = groupDelta(change, (a, b) => a === b);
    const failures: string[] = [];
    await removeMemberships(remove, (group) => this.api.removeMembership(username, group), failures);
    for (const group of add) {
      try {
        if ((await this.api.addMembership(username, group)) === 'missing-group') {
          if (!createMissing) {
            failures.push(`group "${group}" does not exist in Crowd (create it, or enable "create missing groups")`);
            continue;
          }
          await this.api.createGroup(group);
          if ((await this.api.addMembership(username, group)) === 'missing-group') failures.push(`group "${group}" could not be created`);
        }
      } catch (e) {
        if (!concernsOnlyThisField(e)) throw e;
        failures.push(`add to "${group}": ${errorText(e)}`);
      }
    }
    if (failures.length) throw new IdsyncError('BAD_REQUEST', failures.join('; '));
  }

  private async applyAttribute(username: string, field: string, value: Json | undefined): Promise<void> {
    const name = field.slice(ATTR.length);
    const values = attributeValues(value);
    if (values.length === 0) await this.api.deleteAttribute(username, name);
    else await this.api.setAttribute(username, name, values);
  }

  private async toTargetUser(user: CrowdUserEntity, fields: TargetFieldName[]): Promise<TargetUser> {
    const values = valuesOf(user);
    for (const f of fields) if (f.startsWith(ATTR) && !(f in values)) values[f] = null;
    if (fields.includes('groups')) values.groups = (await this.api.directGroups(user.name)).sort();
    return { ref: refOf(user), values };
  }
}

// ---------------------------------------------------------------- helpers

const n = (x: number) => x.toLocaleString('en-US');

function refOf(u: CrowdUserEntity): TargetUserRef {
  return { key: u.key ?? u.name, username: u.name };
}

function valuesOf(u: CrowdUserEntity): FieldValues {
  const values: FieldValues = {
    'user.username': u.name,
    'user.displayName': u['display-name'] ?? null,
    'user.email': u.email ?? null,
    'user.active': u.active ?? false,
    'crowd.firstName': u['first-name'] ?? null,
    'crowd.lastName': u['last-name'] ?? null,
  };
  for (const a of u.attributes?.attributes ?? []) values[`${ATTR}${a.name}`] = [...a.values];
  return values;
}

function emptyAccount(): CrowdUserEntity {
  return { name: '', 'first-name': '', 'last-name': '', 'display-name': '', email: '', active: true };
}

/**
 * The full PUT/POST body: the current user with the changes applied. First and last names follow
 * the display name unless the mapping provides them.
 */
function accountBody(username: string, current: CrowdUserEntity, changes: Array<Pick<FieldChange, 'field' | 'after'>>, desired: FieldValues): CrowdUserWrite {
  const body: CrowdUserWrite = {
    name: username,
    'first-name': current['first-name'] ?? '',
    'last-name': current['last-name'] ?? '',
    'display-name': current['display-name'] ?? '',
    email: current.email ?? '',
    active: current.active ?? false,
  };
  const text = (v: Json | undefined) => (v === null || v === undefined ? '' : String(v));
  for (const c of changes) {
    if (c.field === 'user.displayName') body['display-name'] = text(c.after);
    else if (c.field === 'user.email') body.email = text(c.after);
    else if (c.field === 'user.active') body.active = c.after === true;
    else if (c.field === 'crowd.firstName') body['first-name'] = text(c.after);
    else if (c.field === 'crowd.lastName') body['last-name'] = text(c.after);
  }
  const mapsNames = (f: string) => changes.some((c) => c.field === f) || (desired[f] !== undefined && desired[f] !== null);
  if (changes.some((c) => c.field === 'user.displayName') || !body['first-name'] || !body['last-name']) {
    const derived = splitName(body['display-name'] || username);
    if (!mapsNames('crowd.firstName')) body['first-name'] = derived.first;
    if (!mapsNames('crowd.lastName')) body['last-name'] = derived.last;
  }
  return body;
}

/** "Ada King Lovelace" → first "Ada King", last "Lovelace"; "Plato" → both "Plato". */
export function splitName(displayName: string): { first: string; last: string } {
  const words = displayName.trim().split(/\s+/).filter(Boolean);
  if (words.length <= 1) return { first: words[0] ?? '', last: words[0] ?? '' };
  return { first: words.slice(0, -1).join(' '), last: words[words.length - 1]! };
}

function attributeValues(value: Json | undefined): string[] {
  if (value === null || value === undefined || value === '') return [];
  const list = Array.isArray(value) ? value : [value];
  return list.filter((v) => v !== null && v !== '').map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
}

/** Checks a value before anything is sent; returns the problem in words, or undefined. */
function invalid(field: string, value: Json | undefined): string | undefined {
  const tooLong = (what: string, s: string) =>
    s.length > CROWD_MAX ? `${what} is ${n(s.length)} characters; Crowd allows at most ${n(CROWD_MAX)}` : undefined;
  if (field === 'user.username') {
    if (typeof value !== 'string' || !value.trim()) return 'user.username must be a non-empty string';
    return tooLong(field, value);
  }
  if (field === 'user.active') return typeof value === 'boolean' ? undefined : 'user.active must be true or false';
  if ((ACCOUNT_FIELDS as readonly string[]).includes(field)) {
    return value === null || value === undefined ? undefined : tooLong(field, String(value));
  }
  if (field.startsWith(ATTR)) {
    const name = field.slice(ATTR.length);
    if (!name) return 'crowd.attribute needs a name, e.g. crowd.attribute.costCenter';
    const nameProblem = tooLong(`attribute name ${name}`, name);
    if (nameProblem) return nameProblem;
    for (const v of attributeValues(value)) {
      const p = tooLong(`a value of ${field}`, v);
      if (p) return p;
    }
  }
  return undefined;
}

function newPassword(): string {
  // Long and mixed so it passes any Crowd password policy; nobody is told it.
  return `${randomBytes(24).toString('base64url')}Aa1!`;
}
