// Confluence Cloud as a target. Accounts belong to the Atlassian account (created, named,
// given an email, profile fields and deactivated by the organisation, through the
// atlassian-admin target or SCIM); what Confluence Cloud's REST API can write is group
// membership (by group id) and user properties (JSON stored against the account).
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
import { ConfluenceCloudApi, type CloudUser } from './api.ts';
import { groupDelta, removeMemberships } from '../group-delta.ts';

export const PROPERTY_KEY_MAX = 255;
/** Entity properties hold at most 32 KB of JSON. */
export const PROPERTY_VALUE_MAX = 32_768;
const KEY_PATTERN = /^[-_a-zA-Z0-9]+$/;
/**
 * Confluence Cloud's user property value is a JSON object; other JSON values (strings,
 * numbers, arrays) are stored inside this envelope and unwrapped on read.
 */
export const SCALAR_ENVELOPE = 'idsync:value';

const ACCOUNT_FIELD = 'managed by the Atlassian account; use the atlassian-admin target';

export const confluenceCloudCapabilities: TargetCapabilities = {
  kind: 'confluence-cloud',
  canCreateUsers: false,
  // Confluence Cloud cannot deactivate, delete or rename: those belong to the Atlassian account. It
  // removes access by removing the configured product-access groups (accessGroups, narrowed per
  // instance in capabilitiesFor). See docs/protocol-facts.md.
  lifecycle: {
    disable: false,
    delete: false,
    anonymise: false,
    renameUsername: false,
    removeAccess: true,
    reasons: {
      disable: 'Confluence Cloud cannot deactivate an account; remove access (accessGroups), or deactivate the Atlassian account with an atlassian-admin target',
      delete: "Confluence Cloud has no API to delete an account; delete managed accounts with an atlassian-admin target, or remove access here",
      anonymise: 'names and e-mails belong to the Atlassian account; anonymise managed accounts with an atlassian-admin target',
      renameUsername: 'Cloud accounts have no username',
    },
  },
  fields: [
    {
      name: 'groups',
      type: 'string[]',
      label: 'Groups',
      description: 'Group memberships by group name (resolved to group ids). Needs a site admin. idsync removes only memberships it added.',
    },
    {
      name: 'property.',
      type: 'json',
      label: 'User property',
      description: `Confluence user property (app data stored against the account). Key: letters, digits, - and _, at most ${PROPERTY_KEY_MAX}. Value: at most ${PROPERTY_VALUE_MAX.toLocaleString('en-US')} characters of JSON; a value that is not an object is stored as {"${SCALAR_ENVELOPE}": value}.`,
      maxLength: PROPERTY_VALUE_MAX,
    },
  ],
  unsupported: [
    { name: 'user.username', reason: `${ACCOUNT_FIELD} (Cloud accounts have no username)` },
    { name: 'user.displayName', reason: ACCOUNT_FIELD },
    { name: 'user.email', reason: ACCOUNT_FIELD },
    { name: 'user.active', reason: ACCOUNT_FIELD },
    { name: 'confluence.profile.', reason: `Cloud profile fields (job title, department, location...) are ${ACCOUNT_FIELD}` },
    { name: 'crowd.attribute.', reason: 'Crowd attributes live in Crowd; add a Crowd target.' },
  ],
};

export class ConfluenceCloudTarget implements TargetConnector {
  readonly kind = 'confluence-cloud';
  private readonly api: ConfluenceCloudApi;
  /** lower(group name) → group id; ids never change. */
  private readonly groupIds = new Map<string, string>();
  /** lower(email) → account ids, from one scan of the user search, kept for the connector's run. */
  private emailIndex: Promise<Map<string, string[]>> | undefined;

  constructor(
    readonly id: string,
    private readonly http: HttpClient,
    /** Product-access groups (settings `accessGroups`): what "remove access" takes away. */
    private readonly accessGroups: readonly string[] = [],
  ) {
    this.api = new ConfluenceCloudApi(http);
  }

  capabilities(): TargetCapabilities {
    return withAccessGroups(confluenceCloudCapabilities, this.accessGroups, 'Confluence');
  }

  async groupExists(name: string): Promise<boolean> {
    return (await this.api.groupIdByName(name)) !== undefined;
  }

  async test(): Promise<TestResult> {
    const checks: TestResult['checks'] = [];
    try {
      const me = await this.api.currentUser();
      checks.push({ name: 'credentials', ok: true, message: `signed in as ${me.displayName ?? me.accountId}` });
    } catch (e) {
      checks.push({ name: 'credentials', ok: false, message: errorText(e) });
      return { ok: false, checks };
    }
    try {
      await this.api.canSearchUsers();
      checks.push({ name: 'read users', ok: true, message: 'user search works' });
    } catch (e) {
      checks.push({ name: 'read users', ok: false, message: errorText(e) });
    }
    if (this.accessGroups.length) {
      // "Remove access" must not silently do nothing because a group name is misspelt.
      try {
        const missing: string[] = [];
        for (const g of this.accessGroups) if (!(await this.groupId(g))) missing.push(g);
        checks.push({
          name: 'access groups',
          ok: missing.length === 0,
          message: missing.length ? `accessGroups names groups Confluence does not have: ${missing.join(', ')}` : `${this.accessGroups.join(', ')} exist`,
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
    // No usernames in Cloud, and no lookup by email in Confluence's API: match the visible
    // emails of the user search (accounts that hide their email cannot be matched this way).
    if (keys.email) {
      const ids = (await (this.emailIndex ??= this.buildEmailIndex())).get(keys.email.toLowerCase()) ?? [];
      if (ids.length > 1) throw new IdsyncError('CONFLICT', `several Confluence Cloud accounts have the email ${keys.email}`, { hint: 'link the user by account id' });
      if (ids.length === 1) return this.readUser({ key: ids[0]! }, fields);
    }
    return null;
  }

  async readUser(ref: TargetUserRef, fields: TargetFieldName[]): Promise<TargetUser | null> {
    const user = await this.api.user(ref.key);
    return user ? this.toTargetUser(user, fields) : null;
  }

  async write(request: UserWrite): Promise<WriteResult> {
    if (request.op === 'create' || !request.ref) {
      throw new IdsyncError('CONFIG', 'Confluence Cloud cannot create accounts through its REST API', {
        hint: 'turn off "create users" for this target; accounts come from the Atlassian organisation (atlassian-admin target or SCIM) and idsync links them by email',
      });
    }
    const ref = request.ref;
    const fields: FieldResult[] = [];
    for (const change of request.changes) {
      try {
        await this.apply(ref.key, change, request.options.createMissingGroups);
        fields.push({ field: change.field, ok: true });
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

  private async apply(accountId: string, change: FieldChange, createMissing: boolean): Promise<void> {
    if (change.field === 'groups') return this.applyGroups(accountId, change, createMissing);
    if (change.field.startsWith('property.')) return this.applyProperty(accountId, change.field.slice('property.'.length), change.after);
    const reason = confluenceCloudCapabilities.unsupported?.find((u) => change.field === u.name || (u.name.endsWith('.') && change.field.startsWith(u.name)))?.reason;
    throw new IdsyncError('BAD_REQUEST', `${change.field} cannot be written to Confluence Cloud: ${reason ?? 'not a Confluence Cloud field'}`);
  }

  private async applyProperty(accountId: string, key: string, value: Json | undefined): Promise<void> {
    if (!key || key.length > PROPERTY_KEY_MAX || !KEY_PATTERN.test(key)) {
      throw new IdsyncError('BAD_REQUEST', `user property key "${key}" is not allowed: use 1 to ${PROPERTY_KEY_MAX} letters, digits, - or _`);
    }
    if (value === null || value === undefined) return this.api.deleteProperty(accountId, key);
    const size = JSON.stringify(value).length;
    const stored = isObject(value) ? value : { [SCALAR_ENVELOPE]: value };
    const storedSize = JSON.stringify(stored).length;
    if (storedSize > PROPERTY_VALUE_MAX) {
      throw new IdsyncError(
        'BAD_REQUEST',
        `user property ${key} is ${size.toLocaleString('en-US')} characters of JSON${storedSize !== size ? ` (${storedSize.toLocaleString('en-US')} stored)` : ''}; Confluence allows at most ${PROPERTY_VALUE_MAX.toLocaleString('en-US')}`,
        { hint: 'shorten the mapped value' },
      );
    }
    await this.api.setProperty(accountId, key, stored);
  }

  private async applyGroups(accountId: string, change: FieldChange, createMissing: boolean): Promise<void> {
    const { add, remove } = groupDelta(change);
    const failures: string[] = [];
    await removeMemberships(
      remove,
      async (name) => {
        const groupId = await this.groupId(name);
        if (groupId) await this.api.removeMember(groupId, accountId); // no group, no membership
      },
      failures,
    );
    for (const name of add) {
      try {
        let groupId = await this.groupId(name);
        if (!groupId) {
          if (!createMissing) {
            failures.push(`group "${name}" does not exist in Confluence Cloud (create it, or enable "create missing groups")`);
            continue;
          }
          groupId = await this.api.createGroup(name);
          this.groupIds.set(name.toLowerCase(), groupId);
        }
        await this.api.addMember(groupId, accountId);
      } catch (e) {
        if (!concernsOnlyThisField(e)) throw e;
        failures.push(`add to "${name}": ${errorText(e)}`);
      }
    }
    if (failures.length) throw new IdsyncError('BAD_REQUEST', failures.join('; '));
  }

  private async groupId(name: string): Promise<string | undefined> {
    const cached = this.groupIds.get(name.toLowerCase());
    if (cached) return cached;
    const id = await this.api.groupIdByName(name);
    if (id) this.groupIds.set(name.toLowerCase(), id);
    return id;
  }

  private async buildEmailIndex(): Promise<Map<string, string[]>> {
    try {
      const index = new Map<string, string[]>();
      for await (const page of this.api.allUsers()) {
        for (const u of page) {
          if (!u.email || u.accountType === 'app') continue;
          const k = u.email.toLowerCase();
          index.set(k, [...(index.get(k) ?? []), u.accountId]);
        }
      }
      return index;
    } catch (e) {
      this.emailIndex = undefined; // let a later lookup try again
      throw e;
    }
  }

  private async toTargetUser(user: CloudUser, fields: TargetFieldName[]): Promise<TargetUser> {
    const values: FieldValues = { 'user.displayName': user.displayName ?? null };
    if (user.email) values['user.email'] = user.email;
    if (fields.includes('groups')) values.groups = await this.api.groupsOf(user.accountId);
    const props = fields.filter((f) => f.startsWith('property.'));
    const read = await Promise.all(props.map((f) => this.api.getProperty(user.accountId, f.slice('property.'.length))));
    props.forEach((f, i) => (values[f] = unwrap(read[i])));
    return { ref: { key: user.accountId }, values };
  }
}

function isObject(v: Json): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unwrap(v: unknown): Json {
  if (v === undefined) return null;
  if (isObject(v as Json) && Object.keys(v as object).length === 1 && SCALAR_ENVELOPE in (v as object)) return (v as Record<string, Json>)[SCALAR_ENVELOPE]!;
  return v as Json;
}
