// Confluence Data Center as a target: accounts through the admin user API of Confluence 8.4+
// (create, full name and email, disable/enable), group memberships through the user-group
// resource, and profile fields through the administrator's Edit User Details form.
import { randomBytes } from 'node:crypto';
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
import { ConfluenceDcApi, type DcUser } from './api.ts';
import { NO_USER_PROPERTIES, PROFILE_FIELDS, capabilitiesWithoutProfile, confluenceDcCapabilities, type ProfileField } from './capabilities.ts';
import { EmailIndex } from './email-index.ts';
import type { ConfluenceProfileForm } from './profile-form.ts';
import { fullNameProblem, usernameProblem } from './username.ts';
import { groupDelta, groupNames, removeMemberships } from '../group-delta.ts';

const PROFILE_PREFIX = 'confluence.profile.';

export interface ConfluenceDcTargetOptions {
  id: string;
  rest: HttpClient;
  /** Absent when profile fields are off or no administrator password is configured. */
  profileForm?: ConfluenceProfileForm;
  /** Why profile fields cannot be written, when `profileForm` is absent. */
  profileUnavailable?: string;
  /** Closed with the target (the form's own client). */
  extraClients?: HttpClient[];
  newUserPassword: 'random' | 'notify';
  matchByEmail: boolean;
}

export class ConfluenceDcTarget implements TargetConnector {
  readonly kind = 'confluence-dc';
  readonly id: string;
  private readonly api: ConfluenceDcApi;
  private readonly emails: EmailIndex;

  constructor(private readonly opts: ConfluenceDcTargetOptions) {
    this.id = opts.id;
    this.api = new ConfluenceDcApi(opts.rest);
    this.emails = new EmailIndex(this.api);
  }

  capabilities(): TargetCapabilities {
    return this.opts.profileForm ? confluenceDcCapabilities : capabilitiesWithoutProfile(this.opts.profileUnavailable ?? 'profile fields are turned off for this target');
  }

  async groupExists(name: string): Promise<boolean> {
    return this.api.groupExists(name);
  }

  async test(): Promise<TestResult> {
    const checks: TestResult['checks'] = [];
    let me: DcUser;
    try {
      me = await this.api.currentUser();
      checks.push({ name: 'credentials', ok: true, message: `signed in as ${me.username}` });
    } catch (e) {
      checks.push({ name: 'credentials', ok: false, message: errorText(e) });
      return { ok: false, checks };
    }
    try {
      const admin = await this.api.isAdmin();
      checks.push({
        name: 'administrator',
        ok: admin,
        message: admin ? 'may use the admin user API' : `${me.username} lacks the Confluence Administrator permission the admin user API (Confluence 8.4+) needs`,
      });
    } catch (e) {
      checks.push({ name: 'administrator', ok: false, message: `${errorText(e)} (the admin user API needs Confluence 8.4 or later)` });
    }
    if (this.opts.profileForm) {
      try {
        await this.opts.profileForm.check(me.username);
        checks.push({ name: 'profile form', ok: true, message: 'login, secure administrator session and Edit User form work' });
      } catch (e) {
        checks.push({ name: 'profile form', ok: false, message: errorText(e) });
      }
    }
    return { ok: checks.every((c) => c.ok), checks };
  }

  async findUser(keys: MatchKeys, fields: TargetFieldName[] = []): Promise<TargetUser | null> {
    if (keys.key) {
      const user = await this.api.userByKey(keys.key);
      if (user) return this.toTargetUser(user, fields);
    }
    if (keys.username) {
      const user = await this.api.userByName(keys.username);
      if (user) return this.toTargetUser(user, fields);
    }
    if (keys.email && this.opts.matchByEmail) {
      const found = await this.emails.lookup(keys.email);
      if (found.length > 1) {
        throw new IdsyncError('CONFLICT', `several Confluence users have the email ${keys.email}: ${found.map((f) => f.username).join(', ')}`, {
          hint: 'link the user by username instead',
        });
      }
      if (found.length === 1) return this.readUser({ key: found[0]!.userKey }, fields);
    }
    return null;
  }

  async readUser(ref: TargetUserRef, fields: TargetFieldName[]): Promise<TargetUser | null> {
    const user = await this.api.userByKey(ref.key);
    return user ? this.toTargetUser(user, fields) : null;
  }

  async write(request: UserWrite): Promise<WriteResult> {
    if (request.op === 'create' || !request.ref) return this.create(request);
    const ref = await this.currentRef(request.ref);
    const fields: FieldResult[] = [];
    const run = async (names: TargetFieldName[], action: () => Promise<void>) => {
      try {
        await action();
        for (const field of names) fields.push({ field, ok: true });
      } catch (e) {
        if (!concernsOnlyThisField(e)) throw e;
        for (const field of names) fields.push({ field, ok: false, error: errorText(e) });
      }
    };

    const byField = new Map(request.changes.map((c) => [c.field, c]));
    const account = ['user.displayName', 'user.email'].filter((f) => byField.has(f));
    if (account.length) {
      await run(account, async () => {
        await this.updateAccount(ref.username!, byField.get('user.displayName'), byField.get('user.email'));
        const email = byField.get('user.email')?.after;
        if (typeof email === 'string') this.emails.remember(email, ref); // the index of this run follows the change
      });
    }
    const profile = request.changes.filter((c) => c.field.startsWith(PROFILE_PREFIX));
    if (profile.length) await run(profile.map((c) => c.field), () => this.writeProfile(ref.username!, profile));

    for (const change of request.changes) {
      if (change.field === 'user.displayName' || change.field === 'user.email' || change.field.startsWith(PROFILE_PREFIX)) continue;
      if (change.field === 'user.active') await run([change.field], () => this.api.setActive(ref.username!, change.after !== false));
      else if (change.field === 'groups') await run([change.field], () => this.applyGroups(ref.username!, change, request.options.createMissingGroups));
      else if (change.field === 'user.username') {
        await run([change.field], async () => {
          ref.username = await this.rename(ref.username!, change.after);
        });
      } else if (change.field.startsWith('property.')) fields.push({ field: change.field, ok: false, error: NO_USER_PROPERTIES });
      else fields.push({ field: change.field, ok: false, error: `${change.field} is not a Confluence Data Center field` });
    }
    return { ref, fields };
  }

  /**
   * Removes the user. Confluence's admin API addresses users by username, so the current name
   * is read by key first (nothing to do when the key is gone). The removal runs as a long task:
   * it is followed until it ends, so "resolved" means the user is really gone. A task that ends
   * unsuccessfully (e.g. a read-only directory) is CONFLICT with Confluence's messages.
   */
  async deleteUser(ref: TargetUserRef): Promise<void> {
    const current = await this.api.userByKey(ref.key);
    if (!current) return;
    const started = await this.api.startDeletion(current.username);
    if (started !== 'gone' && started !== 'no-task') await this.awaitRemoval(current.username, started.status);
    // Without a task to follow (an answer without a body), the user's disappearance is the sign.
    if (started === 'no-task') await this.awaitGone(ref.key);
    if (await this.api.userByKey(ref.key)) {
      throw new IdsyncError('TRANSIENT', `Confluence accepted the removal of ${current.username}, but the user still exists`, {
        hint: 'Confluence may still be removing the user; the next run checks again',
      });
    }
    this.emails.forget(ref.key);
  }

  private async awaitGone(userKey: string): Promise<void> {
    for (let attempt = 0, delay = 50; attempt < 30; attempt++, delay = Math.min(delay * 2, 2000)) {
      if (!(await this.api.userByKey(userKey))) return;
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  private async awaitRemoval(username: string, statusUrl: string): Promise<void> {
    // 50 ms doubling to 2 s, about 90 s in all: removing a user with much content takes a while.
    for (let attempt = 0, delay = 50; attempt < 50; attempt++, delay = Math.min(delay * 2, 2000)) {
      const task = await this.api.longTask(statusUrl);
      if (!task) return; // the task is gone (finished long ago): the check by key decides
      if (task.finished) {
        if (task.successful === false) {
          const messages = (task.messages ?? []).map((m) => (typeof m === 'string' ? m : (m.translation ?? m.key ?? ''))).filter(Boolean);
          throw new IdsyncError('CONFLICT', `Confluence did not remove ${username}: ${messages.join('; ') || 'its removal task failed without a message'}`, {
            hint: 'resolve what Confluence names, or disable this user instead',
          });
        }
        return;
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.opts.rest.close(), ...(this.opts.extraClients ?? []).map((c) => c.close())]);
  }

  // ------------------------------------------------------------ internals

  private async create(request: UserWrite): Promise<WriteResult> {
    const d = request.desired;
    const username = typeof d['user.username'] === 'string' ? d['user.username'] : '';
    const fullName = typeof d['user.displayName'] === 'string' ? d['user.displayName'] : '';
    const email = typeof d['user.email'] === 'string' ? d['user.email'] : '';
    const problem = usernameProblem(username) ?? fullNameProblem(fullName) ?? (email.includes('@') ? undefined : `"${email}" is not an email address`);
    if (problem) throw new IdsyncError('BAD_REQUEST', `cannot create the Confluence user: ${problem}`);

    let userKey: string;
    try {
      userKey = await this.api.createUser(
        this.opts.newUserPassword === 'notify'
          ? { userName: username, fullName, email, notifyViaEmail: true }
          : // A random password nobody knows: people sign in through SSO or the directory.
            { userName: username, fullName, email, password: `${randomBytes(24).toString('base64url')}aA1!` },
      );
    } catch (e) {
      if (isIdsyncError(e, 'CONFLICT')) return this.adopt(username, request);
      throw e;
    }
    const ref: TargetUserRef = { key: userKey, username };
    this.emails.remember(email, ref);
    const fields: FieldResult[] = ['user.username', 'user.displayName', 'user.email'].filter((f) => f in d).map((field) => ({ field, ok: true }));
    const run = async (names: TargetFieldName[], action: () => Promise<void>) => {
      try {
        await action();
        for (const field of names) fields.push({ field, ok: true });
      } catch (e) {
        if (!concernsOnlyThisField(e)) throw e;
        for (const field of names) fields.push({ field, ok: false, error: errorText(e) });
      }
    };
    if ('user.active' in d) await run(['user.active'], async () => (d['user.active'] === false ? this.api.setActive(username, false) : undefined));
    if (Array.isArray(d.groups)) {
      const groups = d.groups;
      await run(['groups'], () => this.applyGroups(username, { field: 'groups', before: [], after: groups, add: groupNames(groups), remove: [] }, request.options.createMissingGroups));
    }
    const profile = Object.keys(d)
      .filter((f) => f.startsWith(PROFILE_PREFIX) && d[f] !== null && d[f] !== '')
      .map((f): FieldChange => ({ field: f, before: undefined, after: d[f] }));
    if (profile.length) await run(profile.map((c) => c.field), () => this.writeProfile(username, profile));
    for (const f of Object.keys(d).filter((f) => f.startsWith('property.'))) fields.push({ field: f, ok: false, error: NO_USER_PROPERTIES });
    return { ref, fields };
  }

  /**
   * A create met an existing user (409): someone made it behind idsync's back, or an earlier
   * attempt succeeded without an answer. Link it and bring it to the desired values.
   */
  private async adopt(username: string, request: UserWrite): Promise<WriteResult> {
    const existing = await this.api.userByName(username);
    if (!existing) {
      throw new IdsyncError('CONFLICT', `Confluence says the user ${username} exists, but it cannot be read`, {
        hint: 'the name may belong to a user of a directory idsync cannot see; choose another username or remove the other user',
      });
    }
    const changes: FieldChange[] = Object.entries(request.desired)
      .filter(([field]) => field !== 'user.username')
      .map(([field, after]) => (field === 'groups' ? { field, before: [], after, add: groupNames(after), remove: [] } : { field, before: undefined, after }));
    const res = await this.write({ ...request, op: 'update', ref: { key: existing.userKey, username: existing.username }, changes });
    if ('user.username' in request.desired) res.fields.unshift({ field: 'user.username', ok: true });
    return res;
  }

  /** The admin API addresses users by username; the link holds the key, so look it up when needed. */
  private async currentRef(ref: TargetUserRef): Promise<TargetUserRef> {
    if (ref.username) return { ...ref };
    const user = await this.api.userByKey(ref.key);
    if (!user) throw new IdsyncError('NOT_FOUND', `Confluence has no user with key ${ref.key} any more`);
    return { key: user.userKey, username: user.username };
  }

  private async updateAccount(username: string, displayName?: FieldChange, email?: FieldChange): Promise<void> {
    const body: { fullName?: string; email?: string } = {};
    if (displayName) {
      const v = typeof displayName.after === 'string' ? displayName.after : '';
      const problem = fullNameProblem(v);
      if (problem) throw new IdsyncError('BAD_REQUEST', `cannot set the full name: ${problem}`);
      body.fullName = v;
    }
    if (email) {
      const v = typeof email.after === 'string' ? email.after : '';
      if (!v.includes('@')) throw new IdsyncError('BAD_REQUEST', `cannot set the email: "${v}" is not an email address (Confluence requires one)`);
      body.email = v;
    }
    await this.api.updateUser(username, body);
  }

  /** Renames through the Edit User form (REST has no rename); the user key stays. */
  private async rename(username: string, after: Json | undefined): Promise<string> {
    const newName = typeof after === 'string' ? after : '';
    const problem = usernameProblem(newName);
    if (problem) throw new IdsyncError('BAD_REQUEST', `cannot rename ${username}: ${problem}`);
    if (newName === username) return username;
    if (!this.opts.profileForm) {
      throw new IdsyncError('BAD_REQUEST', `cannot rename ${username} to ${newName}: Confluence's REST API has no rename and the Edit User form is not available (${this.opts.profileUnavailable})`);
    }
    try {
      await this.opts.profileForm.write(username, {}, newName);
    } catch (e) {
      // Name the account that holds the username, so the collision can be resolved.
      const other = /already exists/i.test(errorText(e)) ? await this.api.userByName(newName).catch(() => null) : null;
      if (!other) throw e;
      throw new IdsyncError('CONFLICT', `cannot rename ${username} to ${newName}: that username belongs to another Confluence user (${other.displayName ?? other.username}, key ${other.userKey}); nothing was changed`, {
        status: isIdsyncError(e) ? e.status : undefined,
      });
    }
    return newName;
  }

  private async writeProfile(username: string, changes: FieldChange[]): Promise<void> {
    if (!this.opts.profileForm) {
      throw new IdsyncError('BAD_REQUEST', `profile fields cannot be written: ${this.opts.profileUnavailable ?? 'profile fields are off'}`);
    }
    const values: Partial<Record<ProfileField, string | null>> = {};
    for (const c of changes) {
      const name = c.field.slice(PROFILE_PREFIX.length) as ProfileField;
      if (!PROFILE_FIELDS.includes(name)) throw new IdsyncError('BAD_REQUEST', `${c.field} is not a Confluence profile field (use one of ${PROFILE_FIELDS.join(', ')})`);
      values[name] = c.after === null || c.after === undefined ? null : typeof c.after === 'string' ? c.after : JSON.stringify(c.after);
    }
    await this.opts.profileForm.write(username, values);
  }

  private async applyGroups(username: string, change: FieldChange, createMissing: boolean): Promise<void> {
    const { add, remove } = groupDelta(change);
    const failures: string[] = [];
    await removeMemberships(remove, (group) => this.api.removeMember(username, group), failures);
    for (const group of add) {
      try {
        if (await this.api.addMember(username, group)) continue;
        // 404: the user or the group is missing; find out which. A group that exists now may
        // have been created by another worker since the add: the add is then tried once more.
        if (await this.api.groupExists(group)) {
          if (await this.api.addMember(username, group)) continue;
          throw new IdsyncError('NOT_FOUND', `Confluence has no user ${username}`);
        }
        if (!createMissing) {
          failures.push(`group "${group}" does not exist in Confluence (create it, or enable "create missing groups")`);
          continue;
        }
        await this.api.createGroup(group);
        if (!(await this.api.addMember(username, group))) failures.push(`add to "${group}": Confluence answered 404 after creating the group`);
      } catch (e) {
        if (!concernsOnlyThisField(e)) throw e;
        failures.push(`add to "${group}": ${errorText(e)}`);
      }
    }
    if (failures.length) throw new IdsyncError('BAD_REQUEST', failures.join('; '));
  }

  private async toTargetUser(user: DcUser, fields: TargetFieldName[]): Promise<TargetUser> {
    const values: FieldValues = {
      'user.username': user.username,
      'user.displayName': user.displayName ?? null,
      'user.active': user.status !== 'Deactivated',
    };
    const email = user.details?.personal?.email;
    if (email) values['user.email'] = email;
    if (fields.includes('groups')) values.groups = await this.api.groupsOf(user.username);

    const profileWanted = fields.filter((f) => f.startsWith(PROFILE_PREFIX));
    if (profileWanted.length) {
      const profile = await this.profileOf(user);
      for (const f of profileWanted) values[f] = profile[f.slice(PROFILE_PREFIX.length) as ProfileField] || null;
    }
    return { ref: { key: user.userKey, username: user.username }, values };
  }

  /** Profile values from the REST `details` expansion, or from the form when REST lacks it. */
  private async profileOf(user: DcUser): Promise<Partial<Record<ProfileField, string>>> {
    const p = user.details?.personal;
    const b = user.details?.business;
    if (p || b) {
      return { phone: p?.phone ?? '', im: p?.im ?? '', website: p?.website ?? '', position: b?.position ?? '', department: b?.department ?? '', location: b?.location ?? '' };
    }
    if (!this.opts.profileForm) return {};
    return (await this.opts.profileForm.read(user.username))?.profile ?? {};
  }
}
