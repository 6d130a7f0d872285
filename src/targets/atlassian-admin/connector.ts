// The Atlassian Cloud organisation as a target: writes what belongs to the Atlassian account
// itself (name, email, profile details, active) through the user-management API. This only works
// for accounts the organisation manages (verified domain); for any other account each field is
// reported as skipped, not failed, because no configuration change on our side could fix it.
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
import { AtlassianAdminApi, type AccountAnswer, type AdminProfile } from './api.ts';

export const NOT_MANAGED = 'account is not managed by your organisation';

/** `atlassian.profile.<name>` → where it lives in the profile API. */
const PROFILE_FIELDS: Record<string, { path: 'top' | 'extended'; key: string; label: string }> = {
  nickname: { path: 'top', key: 'nickname', label: 'Nickname' },
  zoneinfo: { path: 'top', key: 'zoneinfo', label: 'Time zone (IANA, e.g. Europe/Berlin)' },
  locale: { path: 'top', key: 'locale', label: 'Locale (e.g. en-US)' },
  job_title: { path: 'extended', key: 'job_title', label: 'Job title' },
  department: { path: 'extended', key: 'department', label: 'Department' },
  organization: { path: 'extended', key: 'organization', label: 'Organization' },
  location: { path: 'extended', key: 'location', label: 'Location' },
};

export const atlassianAdminCapabilities: TargetCapabilities = {
  kind: 'atlassian-admin',
  canCreateUsers: false,
  // Managed accounts only: deactivate/activate and delete (lifecycle API; a 14-day grace period),
  // name and e-mail replaced (e-mail on a verified domain). See docs/protocol-facts.md.
  lifecycle: {
    disable: true,
    delete: true,
    anonymise: true,
    renameUsername: false,
    removeAccess: false,
    reasons: {
      renameUsername: 'Atlassian accounts have no username; they are identified by account id and e-mail (anonymising replaces name and e-mail).',
      removeAccess:
        'deactivating the Atlassian account already removes access to every product; to remove product access only, set accessGroups on a jira-cloud or confluence-cloud target.',
    },
  },
  fields: [
    ...Object.entries(PROFILE_FIELDS).map(([name, f]) => ({
      name: `atlassian.profile.${name}`,
      type: 'string' as const,
      label: f.label,
      description: 'Atlassian account profile field. Managed accounts only.',
      maxLength: 255,
    })),
    { name: 'user.displayName', type: 'string', label: 'Full name', description: 'The Atlassian account name (profile `name`). Managed accounts only.', maxLength: 255 },
    { name: 'user.email', type: 'string', label: 'Email', description: 'Changes the email of a managed account (its login). The new domain must be verified by the organisation; the change signs the person out everywhere. Managed accounts only.' },
    { name: 'user.active', type: 'boolean', label: 'Active', description: 'Deactivates or reactivates the Atlassian account in every product. Managed accounts only.' },
  ],
  unsupported: [
    { name: 'user.username', reason: 'Atlassian accounts have no username; they are identified by account id and email' },
    { name: 'atlassian.profile.name', reason: 'map the full name to user.displayName' },
    { name: 'groups', reason: 'group membership is written by the jira-cloud (or confluence-cloud) target' },
  ],
};

export interface AtlassianAdminOptions {
  /** Shown to a person whose account idsync deactivates. */
  deactivationMessage: string;
}

export class AtlassianAdminTarget implements TargetConnector {
  readonly kind = 'atlassian-admin';

  constructor(
    readonly id: string,
    private readonly http: HttpClient,
    private readonly api: AtlassianAdminApi,
    private readonly orgId: string,
    private readonly options: AtlassianAdminOptions,
  ) {}

  capabilities(): TargetCapabilities {
    return atlassianAdminCapabilities;
  }

  async test(): Promise<TestResult> {
    const checks: TestResult['checks'] = [];
    try {
      const orgs = await this.api.orgs();
      const mine = orgs.find((o) => o.id === this.orgId);
      checks.push(
        mine
          ? { name: 'api key', ok: true, message: `organisation ${mine.name ?? mine.id}` }
          : {
              name: 'api key',
              ok: false,
              message: `the API key does not reach organisation ${this.orgId}; it reaches ${orgs.map((o) => o.id).join(', ') || 'no organisation'}`,
            },
      );
    } catch (e) {
      checks.push({ name: 'api key', ok: false, message: errorText(e) });
      return { ok: false, checks };
    }
    try {
      await this.api.usersByEmail('idsync-connection-test@invalid.example');
      checks.push({ name: 'directory search', ok: true, message: 'users can be looked up by email' });
    } catch (e) {
      checks.push({ name: 'directory search', ok: false, message: errorText(e) });
    }
    return { ok: checks.every((c) => c.ok), checks };
  }

  async findUser(keys: MatchKeys, _fields?: TargetFieldName[]): Promise<TargetUser | null> {
    if (keys.key) {
      const user = await this.readUser({ key: keys.key }, []);
      if (user) return user;
    }
    if (keys.email) {
      const matches = await this.api.usersByEmail(keys.email);
      if (matches.length > 1) {
        throw new IdsyncError('CONFLICT', `several Atlassian accounts in the organisation have the email ${keys.email}`);
      }
      const match = matches[0];
      if (match) return this.readUser({ key: match.accountId }, []);
    }
    return null;
  }

  /** Managed accounts come with their values; unmanaged ones with none (their fields will be skipped). */
  async readUser(ref: TargetUserRef, _fields: TargetFieldName[]): Promise<TargetUser | null> {
    const res = await this.api.profile(ref.key);
    // A closed account is deleted (or in its 14-day grace period, restorable only by an
    // administrator cancelling the deletion): gone for idsync, never written again.
    if (res.kind === 'missing' || (res.kind === 'ok' && res.value.account_status === 'closed')) return null;
    if (res.kind === 'unmanaged') return { ref: { key: ref.key }, values: {} };
    return { ref: { key: res.value.account_id }, values: profileValues(res.value) };
  }

  async write(request: UserWrite): Promise<WriteResult> {
    if (request.op === 'create' || !request.ref) {
      throw new IdsyncError('CONFIG', 'the Atlassian admin API cannot create accounts', {
        hint: 'turn off "create users" for this target; accounts come from SCIM provisioning or invitations and are linked by email',
      });
    }
    const accountId = request.ref.key;
    const results = new Map<string, FieldResult>();
    // Values the API would refuse fail on their own, before anything is sent.
    const valid = request.changes.filter((c) => {
      const problem = tooLong(c);
      if (problem) results.set(c.field, { field: c.field, ok: false, error: problem });
      return !problem;
    });
    const profileChanges = valid.filter((c) => c.field === 'user.displayName' || c.field.startsWith('atlassian.profile.'));
    const others = valid.filter((c) => !profileChanges.includes(c));

    if (profileChanges.length) {
      const outcome = await this.guard(() => this.writeProfile(accountId, profileChanges));
      for (const c of profileChanges) results.set(c.field, { field: c.field, ...outcome });
    }
    for (const c of others) {
      results.set(c.field, { field: c.field, ...(await this.guard(() => this.writeAccountField(accountId, c))) });
    }
    return { ref: request.ref, fields: request.changes.map((c) => results.get(c.field)!) };
  }

  /**
   * Deletes a managed account. Gone or closed already: nothing to do. The organisation's
   * `lifecycle.delete` privilege is read first, so a refusal (e.g. an account of an external
   * SCIM directory) is CONFLICT with the reason in words, and an unmanaged account is CONFLICT
   * too: the organisation cannot delete someone else's account.
   */
  async deleteUser(ref: TargetUserRef): Promise<void> {
    const profile = await this.api.profile(ref.key);
    if (profile.kind === 'missing' || (profile.kind === 'ok' && profile.value.account_status === 'closed')) return;
    const notManaged = () =>
      new IdsyncError('CONFLICT', `the Atlassian account ${ref.key} is not managed by your organisation, so it cannot be deleted`, {
        hint: 'remove its product access instead (accessGroups on the jira-cloud or confluence-cloud target), or choose "keep" for such users',
      });
    if (profile.kind === 'unmanaged') throw notManaged();
    const permission = await this.api.deletePermission(ref.key);
    if (permission.kind === 'missing') return;
    if (permission.kind === 'unmanaged') throw notManaged();
    if (!permission.value.allowed) {
      throw new IdsyncError('CONFLICT', `Atlassian refuses to let your organisation delete ${profile.value.email}: ${restrictionText(permission.value.reason)}`, {
        hint: 'delete it where it is managed, or deactivate it instead',
      });
    }
    const res = await this.api.deleteAccount(ref.key);
    if (res.kind === 'unmanaged') throw notManaged();
    if (res.kind === 'refused') throw new IdsyncError('CONFLICT', `Atlassian refused to delete ${profile.value.email}: ${res.message}`, { hint: 'deactivate it instead' });
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  // ------------------------------------------------------------ internals

  /** Runs one write and turns its answer into a field outcome; only run-fatal errors escape. */
  private async guard(fn: () => Promise<AccountAnswer<unknown>>): Promise<Omit<FieldResult, 'field'>> {
    try {
      const res = await fn();
      if (res.kind === 'unmanaged') return { ok: true, skipped: NOT_MANAGED };
      if (res.kind === 'missing') return { ok: false, error: 'the Atlassian account no longer exists' };
      return { ok: true };
    } catch (e) {
      if (!concernsOnlyThisField(e)) throw e;
      return { ok: false, error: errorText(e) };
    }
  }

  private async writeProfile(accountId: string, changes: FieldChange[]): Promise<AccountAnswer<unknown>> {
    const patch: Record<string, unknown> = {};
    const extended: Record<string, string | null> = {};
    for (const c of changes) {
      const value = c.after === undefined || c.after === null || c.after === '' ? null : String(c.after);
      if (c.field === 'user.displayName') {
        if (value === null) throw new IdsyncError('BAD_REQUEST', 'an Atlassian account name cannot be empty');
        patch.name = value;
        continue;
      }
      const spec = PROFILE_FIELDS[c.field.slice('atlassian.profile.'.length)];
      if (!spec) throw new IdsyncError('BAD_REQUEST', `${c.field} is not an Atlassian profile field`);
      if (spec.path === 'top') patch[spec.key] = value;
      else extended[spec.key] = value;
    }
    if (Object.keys(extended).length) patch.extended_profile = extended;
    return this.api.updateProfile(accountId, patch);
  }

  private async writeAccountField(accountId: string, c: FieldChange): Promise<AccountAnswer<unknown>> {
    if (c.field === 'user.active') {
      if (typeof c.after !== 'boolean') throw new IdsyncError('BAD_REQUEST', 'user.active must be true or false');
      return this.api.setActive(accountId, c.after, this.options.deactivationMessage);
    }
    if (c.field === 'user.email') {
      const email = c.after;
      if (typeof email !== 'string' || !email.includes('@')) throw new IdsyncError('BAD_REQUEST', 'user.email must be an email address');
      try {
        return await this.api.setEmail(accountId, email);
      } catch (e) {
        if (!isIdsyncError(e, 'CONFLICT')) throw e;
        // Another account has the address: name it, so the collision can be resolved.
        const other = (await this.api.usersByEmail(email).catch(() => [])).find((u) => u.accountId !== accountId);
        throw new IdsyncError('CONFLICT', `${email} already belongs to another Atlassian account${other ? ` (${other.name ?? other.email}, account id ${other.accountId})` : ''}; nothing was changed`, {
          status: 409,
        });
      }
    }
    const reason = atlassianAdminCapabilities.unsupported?.find((u) => u.name === c.field)?.reason;
    throw new IdsyncError('BAD_REQUEST', `${c.field} cannot be written by the atlassian-admin target${reason ? `: ${reason}` : ''}`);
  }
}

/** The documented restriction reasons of the user-management API, in words. */
function restrictionText(key: string | undefined): string {
  const words: Record<string, string> = {
    administrative: 'the action is reserved for administrative use',
    'administrative.notMyself': 'an administrator cannot do this to their own account',
    'authPolicy.saml': 'it is set by SAML single sign-on',
    'blocked.exportControl': 'the account is blocked by US export controls',
    'externalDirectory.scim': 'the account is provisioned by an external SCIM directory',
    'externalDirectory.google': 'the account is managed by a Google directory',
    myselfOnly: 'only the account owner may do this',
    managedAccount: "only the account's organisation administrator may do this",
  };
  return key ? (words[key] ?? key) : 'no reason given';
}

/** Profile values are limited to 255 characters. */
export const PROFILE_MAX = 255;

function tooLong(c: FieldChange): string | undefined {
  const limited = c.field === 'user.displayName' || c.field.startsWith('atlassian.profile.');
  if (!limited || typeof c.after !== 'string' || c.after.length <= PROFILE_MAX) return undefined;
  const n = (x: number) => x.toLocaleString('en-US');
  return `${c.field} is ${n(c.after.length)} characters; the Atlassian profile allows at most ${n(PROFILE_MAX)}`;
}

function profileValues(p: AdminProfile): FieldValues {
  const values: FieldValues = {
    'user.displayName': p.name,
    'user.email': p.email,
    'user.active': p.account_status === 'active',
  };
  for (const [name, spec] of Object.entries(PROFILE_FIELDS)) {
    const raw = spec.path === 'top' ? (p as unknown as Record<string, unknown>)[spec.key] : p.extended_profile?.[spec.key];
    values[`atlassian.profile.${name}`] = (typeof raw === 'string' && raw !== '' ? raw : null) as Json;
  }
  return values;
}
