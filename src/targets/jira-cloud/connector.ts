// Jira Cloud as a target. Cloud's REST API cannot create accounts (without an org-admin
// invite), rename them, change their email or deactivate them: those belong to the Atlassian
// account and are written by the `atlassian-admin` target. What Jira Cloud can write is group
// membership (by group id) and user properties (app data stored against the account).
import { IdsyncError, errorText } from '../../core/errors.ts';
import { concernsOnlyThisField } from '../../core/error-policy.ts';
import type { HttpClient } from '../../core/http.ts';
import { withAccessGroups } from '../access-groups.ts';
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
import { JiraCloudApi, type CloudUser } from './api.ts';
import { groupDelta, removeMemberships } from '../group-delta.ts';

export const PROPERTY_KEY_MAX = 255;
export const PROPERTY_VALUE_MAX = 32_768;

const NOT_WRITABLE =
  "Jira Cloud's API cannot change identity fields or deactivate; add an atlassian-admin target";

export const jiraCloudCapabilities: TargetCapabilities = {
  kind: 'jira-cloud',
  canCreateUsers: false,
  // Jira Cloud cannot deactivate, delete or rename: those belong to the Atlassian account. It
  // removes access by removing the configured product-access groups (accessGroups, narrowed per
  // instance in capabilitiesFor). See docs/protocol-facts.md.
  lifecycle: {
    disable: false,
    delete: false,
    anonymise: false,
    renameUsername: false,
    removeAccess: true,
    reasons: {
      disable: 'Jira Cloud cannot deactivate an account; remove access (accessGroups), or deactivate the Atlassian account with an atlassian-admin target',
      delete: "Jira Cloud's DELETE /rest/api/3/user only takes the account off this site (experimental) and never deletes the Atlassian account; delete managed accounts with an atlassian-admin target, or remove access here",
      anonymise: 'names and e-mails belong to the Atlassian account; anonymise managed accounts with an atlassian-admin target',
      renameUsername: 'Cloud accounts have no username',
    },
  },
  fields: [
    {
      name: 'groups',
      type: 'string[]',
      label: 'Groups',
      description: 'Group memberships by group name (resolved to group ids). idsync removes only memberships it added.',
    },
    {
      name: 'property.',
      type: 'json',
      label: 'User property',
      description:
        'A Jira user property (app data stored against the account, not the profile). Key at most 255 characters; JSON value at most 32,768 characters.',
      maxLength: PROPERTY_VALUE_MAX,
    },
  ],
  unsupported: [
    { name: 'user.username', reason: `${NOT_WRITABLE} (Cloud accounts have no username)` },
    { name: 'user.displayName', reason: NOT_WRITABLE },
    { name: 'user.email', reason: NOT_WRITABLE },
    { name: 'user.active', reason: NOT_WRITABLE },
  ],
};

export class JiraCloudTarget implements TargetConnector {
  readonly kind = 'jira-cloud';
  private readonly api: JiraCloudApi;
  /** lower(group name) → group id, filled lazily; group ids never change. */
  private readonly groupIdCache = new Map<string, string>();

  constructor(
    readonly id: string,
    private readonly http: HttpClient,
    /** Product-access groups (settings `accessGroups`): what "remove access" takes away. */
    private readonly accessGroups: readonly string[] = [],
  ) {
    this.api = new JiraCloudApi(http);
  }

  capabilities(): TargetCapabilities {
    return withAccessGroups(jiraCloudCapabilities, this.accessGroups, 'Jira');
  }

  async groupExists(name: string): Promise<boolean> {
    return (await this.api.groupIds([name])).has(name.toLowerCase());
  }

  async test(): Promise<TestResult> {
    const checks: TestResult['checks'] = [];
    try {
      const me = await this.api.myself();
      checks.push({ name: 'credentials', ok: true, message: `signed in as ${me.body.displayName ?? me.body.accountId}` });
    } catch (e) {
      checks.push({ name: 'credentials', ok: false, message: errorText(e) });
      return { ok: false, checks };
    }
    try {
      const info = await this.api.serverInfo();
      const cloud = info.body.deploymentType === 'Cloud';
      checks.push({
        name: 'deployment',
        ok: cloud,
        message: cloud ? 'Jira Cloud' : `this is a ${info.body.deploymentType ?? 'non-Cloud'} site; use the jira-dc target type`,
      });
    } catch (e) {
      checks.push({ name: 'deployment', ok: false, message: errorText(e) });
    }
    if (this.accessGroups.length) {
      // "Remove access" must not silently do nothing because a group name is misspelt.
      try {
        const found = await this.resolveGroups([...this.accessGroups]);
        const missing = this.accessGroups.filter((g) => !found.has(g.toLowerCase()));
        checks.push({
          name: 'access groups',
          ok: missing.length === 0,
          message: missing.length ? `accessGroups names groups Jira does not have: ${missing.join(', ')}` : `${this.accessGroups.join(', ')} exist`,
        });
      } catch (e) {
        checks.push({ name: 'access groups', ok: false, message: errorText(e) });
      }
    }
    return { ok: checks.every((c) => c.ok), checks };
  }

  async findUser(keys: MatchKeys, fields: TargetFieldName[] = []): Promise<TargetUser | null> {
    if (keys.key) {
      const user = await this.api.user(keys.key);
      if (user) return this.toTargetUser(user, fields);
    }
    // Cloud has no usernames; the email is the only other way in.
    if (keys.email) {
      const accountId = await this.accountIdByEmail(keys.email);
      if (accountId) return this.readUser({ key: accountId }, fields);
    }
    return null;
  }

  async readUser(ref: TargetUserRef, fields: TargetFieldName[]): Promise<TargetUser | null> {
    const user = await this.api.user(ref.key);
    return user ? this.toTargetUser(user, fields) : null;
  }

  async write(request: UserWrite): Promise<WriteResult> {
    if (request.op === 'create' || !request.ref) {
      throw new IdsyncError('CONFIG', 'Jira Cloud cannot create accounts through its REST API', {
        hint: 'turn off "create users" for this target and create accounts with SCIM provisioning or an invitation; idsync then links them by email',
      });
    }
    const ref = request.ref;
    const fields: FieldResult[] = [];
    for (const change of request.changes) {
      try {
        const skipped = await this.applyChange(ref.key, change, request.options.createMissingGroups);
        fields.push(skipped ? { field: change.field, ok: true, skipped } : { field: change.field, ok: true });
      } catch (e) {
        if (!concernsOnlyThisField(e)) throw e;
        fields.push({ field: change.field, ok: false, error: errorText(e) });
      }
    }
    return { ref, fields };
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  // ------------------------------------------------------------ internals

  /** Performs one field change; returns a skip reason when nothing could be done. */
  private async applyChange(accountId: string, change: FieldChange, createMissingGroups: boolean): Promise<string | undefined> {
    if (change.field === 'groups') {
      await this.applyGroups(accountId, change, createMissingGroups);
      return undefined;
    }
    if (change.field.startsWith('property.')) {
      await this.applyProperty(accountId, change.field.slice('property.'.length), change.after);
      return undefined;
    }
    const reason = jiraCloudCapabilities.unsupported?.find((u) => u.name === change.field)?.reason;
    throw new IdsyncError('BAD_REQUEST', `${change.field} cannot be written to Jira Cloud: ${reason ?? 'not a Jira Cloud field'}`);
  }

  private async applyProperty(accountId: string, key: string, value: Json | undefined): Promise<void> {
    if (!key || key.length > PROPERTY_KEY_MAX) {
      throw new IdsyncError('BAD_REQUEST', `user property key must be 1 to ${PROPERTY_KEY_MAX} characters (got ${key.length})`);
    }
    if (value === null || value === undefined) {
      await this.api.deleteProperty(accountId, key);
      return;
    }
    const json = JSON.stringify(value);
    // Jira measures the value in bytes (UTF-8), not characters.
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > PROPERTY_VALUE_MAX) {
      throw new IdsyncError(
        'BAD_REQUEST',
        `user property ${key} is ${n(bytes)} bytes of JSON (UTF-8); Jira allows at most ${n(PROPERTY_VALUE_MAX)}`,
        { hint: 'shorten the mapped value' },
      );
    }
    await this.api.setProperty(accountId, key, json);
  }

  private async applyGroups(accountId: string, change: FieldChange, createMissing: boolean): Promise<void> {
    const { add, remove } = groupDelta(change);
    const ids = await this.resolveGroups([...add, ...remove]);
    const failures: string[] = [];
    await removeMemberships(
      remove,
      async (name) => {
        const groupId = ids.get(name.toLowerCase());
        if (groupId) await this.api.removeMember(groupId, accountId); // no group, no membership
      },
      failures,
    );
    for (const name of add) {
      try {
        let groupId = ids.get(name.toLowerCase());
        if (!groupId) {
          if (!createMissing) {
            failures.push(`group "${name}" does not exist in Jira Cloud (create it, or enable "create missing groups")`);
            continue;
          }
          groupId = await this.api.createGroup(name);
          this.groupIdCache.set(name.toLowerCase(), groupId);
        }
        await this.api.addMember(groupId, accountId);
      } catch (e) {
        if (!concernsOnlyThisField(e)) throw e;
        failures.push(`add to "${name}": ${errorText(e)}`);
      }
    }
    if (failures.length) throw new IdsyncError('BAD_REQUEST', failures.join('; '));
  }

  private async resolveGroups(names: string[]): Promise<Map<string, string>> {
    const unknown = [...new Set(names.map((n) => n.toLowerCase()))].filter((n) => !this.groupIdCache.has(n));
    if (unknown.length) {
      const found = await this.api.groupIds(names.filter((n) => unknown.includes(n.toLowerCase())));
      for (const [n, id] of found) this.groupIdCache.set(n, id);
    }
    return this.groupIdCache;
  }

  /**
   * Finds the account with this email. `/user/search` matches emails even when the owner hides
   * them, but then the answer carries no address to confirm: a full-address query that yields a
   * single account with a hidden email is taken as that account; several candidates are a conflict.
   */
  private async accountIdByEmail(email: string): Promise<string | undefined> {
    const found = (await this.api.search(email)).filter((u) => u.accountType === undefined || u.accountType === 'atlassian');
    const exact = found.filter((u) => u.emailAddress?.toLowerCase() === email.toLowerCase());
    if (exact.length === 1) return exact[0]!.accountId;
    if (exact.length > 1) {
      throw new IdsyncError('CONFLICT', `several Jira Cloud accounts have the email ${email}`, { hint: 'link the user by account id' });
    }
    const hidden = found.filter((u) => u.emailAddress === undefined);
    if (found.length === 1 && hidden.length === 1) return hidden[0]!.accountId;
    return undefined;
  }

  private async toTargetUser(user: CloudUser, fields: TargetFieldName[]): Promise<TargetUser> {
    const values: FieldValues = {
      'user.displayName': user.displayName ?? null,
      'user.active': user.active ?? true,
      groups: (user.groups?.items ?? []).map((g) => g.name).sort(),
    };
    if (user.emailAddress) values['user.email'] = user.emailAddress;
    const propertyFields = fields.filter((f) => f.startsWith('property.'));
    const props = await Promise.all(propertyFields.map((f) => this.api.getProperty(user.accountId, f.slice('property.'.length))));
    propertyFields.forEach((f, i) => (values[f] = props[i] ?? null));
    return { ref: { key: user.accountId }, values };
  }
}

/** Numbers as people read them in messages: 32,768. */
const n = (x: number) => x.toLocaleString('en-US');
