// Inbound SCIM as a source: Entra ID, Okta or any SCIM client pushes users and groups to
// /scim/v2/<connector>/ (http/routes.ts); idsync keeps them (repo.ts) and this source answers
// from that store, so a full sync, a single-user sync and a simulation work as for the pull
// sources. Pushes are projected in batches as they arrive (push.ts).
import { z } from 'zod';
import type { AttributeInfo, SourceConnector, SourceGroup, SourceQuery, SourceUser, TestResult, UserHit, UserPage } from '../../core/types.ts';
import { sourceBaseSchema } from '../../config/schema.ts';
import { IdsyncError } from '../../core/errors.ts';
import type { SourceDefinition } from '../registry.ts';
import { ScimRepo, type StoredResource } from './repo.ts';
import { ENTERPRISE_SCHEMA, extensionKey, sourceUserOf } from './model.ts';
import { groupListOf } from '../group-list.ts';

export const scimConfigSchema = sourceBaseSchema
  .extend({
    type: z.literal('scim'),
    /** Accept pushes and record what would change, writing nothing to Atlassian. */
    simulate: z.boolean().default(false).meta({ description: 'Accept pushes and record in the run history what would change, without writing to Atlassian' }),
    /** How long the first change of a batch waits for more before the push run starts. */
    batchWindowMs: z.number().int().min(100).max(60_000).default(1500),
    /** A batch starts at once when this many users are owed. */
    batchSize: z.number().int().min(1).max(5000).default(500),
  })
  .strict();

export type ScimConfig = z.output<typeof scimConfigSchema>;

export const KNOWN_ATTRIBUTES: AttributeInfo[] = [
  { path: 'userName', type: 'string', description: 'SCIM userName (Entra: userPrincipalName; Okta: login)' },
  { path: 'userPrincipalName', type: 'string', description: 'Same as userName' },
  { path: 'externalId', type: 'string', description: "The provider's id of the user (Entra: mailNickname or objectId, as mapped)" },
  { path: 'displayName', type: 'string' },
  { path: 'name.givenName', type: 'string' },
  { path: 'name.familyName', type: 'string' },
  { path: 'name.formatted', type: 'string' },
  { path: 'nickName', type: 'string' },
  { path: 'title', type: 'string' },
  { path: 'userType', type: 'string' },
  { path: 'preferredLanguage', type: 'string' },
  { path: 'locale', type: 'string' },
  { path: 'timezone', type: 'string' },
  { path: 'active', type: 'boolean', description: 'false when the provider disabled the user (Entra: accountEnabled; Okta: deactivated)' },
  { path: 'mail', type: 'string', description: 'The primary e-mail address, else the work one, else the first' },
  { path: 'emails', type: 'object', description: 'All e-mail addresses [{value, type, primary}]' },
  { path: 'phoneNumbers', type: 'object' },
  { path: 'addresses', type: 'object' },
  { path: 'enterprise.employeeNumber', type: 'string' },
  { path: 'enterprise.costCenter', type: 'string' },
  { path: 'enterprise.organization', type: 'string' },
  { path: 'enterprise.division', type: 'string' },
  { path: 'enterprise.department', type: 'string' },
  { path: 'manager.userName', type: 'string', description: "The manager's userName (enterprise manager, by SCIM id)" },
  { path: 'manager.mail', type: 'string' },
];

/** Users per page of a full read. */
const PAGE = 500;

export class ScimSource implements SourceConnector {
  readonly kind = 'scim';
  private readonly repo: ScimRepo;

  constructor(
    private readonly connectorId: string,
    db: ConstructorParameters<typeof ScimRepo>[0],
  ) {
    this.repo = new ScimRepo(db);
  }

  async test(): Promise<TestResult> {
    const [users, groups, tokens, owed] = await Promise.all([this.repo.count(this.connectorId, 'User'), this.repo.count(this.connectorId, 'Group'), this.repo.tokens(this.connectorId), this.repo.dirtyCount(this.connectorId)]);
    const live = tokens.filter((t) => !t.revokedAt);
    const used = live.map((t) => t.lastUsedAt).filter(Boolean).sort().pop();
    return {
      ok: live.length > 0,
      checks: [
        { name: 'token', ok: live.length > 0, message: live.length > 0 ? `${live.length} live token(s); last used ${used ?? 'never'}` : 'no SCIM token yet: create one (POST /api/v1/connectors/<id>/scim-tokens) and enter it as the Secret Token in Entra ID / Okta' },
        { name: 'pushed', ok: true, message: `${users} users and ${groups} groups pushed; ${owed} waiting for the next push run` },
      ],
    };
  }

  async attributes(): Promise<AttributeInfo[]> {
    // The catalogue plus what providers actually sent: extension attributes under their URN.
    const seen = new Map<string, AttributeInfo>();
    for (const r of await this.repo.page(this.connectorId, 'User', null, 1000)) {
      for (const [k, v] of Object.entries(r.resource ?? {})) {
        if (!k.startsWith('urn:') || k === ENTERPRISE_SCHEMA || typeof v !== 'object' || v === null) continue;
        for (const [a, av] of Object.entries(v)) {
          const path = `ext.${extensionKey(k)}.${a}`;
          if (!seen.has(path)) seen.set(path, { path, type: typeof av === 'boolean' ? 'boolean' : typeof av === 'number' ? 'number' : typeof av === 'string' ? 'string' : 'object', description: `${k}:${a}` });
        }
      }
    }
    return [...KNOWN_ATTRIBUTES, ...seen.values()];
  }

  async *listUsers(query: SourceQuery): AsyncIterable<UserPage> {
    for (let after: string | null = null; ; ) {
      query.signal?.throwIfAborted();
      const page = await this.repo.page(this.connectorId, 'User', after, PAGE);
      const users = await this.usersOf(page);
      if (page.length < PAGE) {
        // With groups asked, every pushed group (the store holds them all), for the engine's shadow of groups.
        yield { users, complete: true, ...(query.groups ? { groupList: await this.groupList() } : {}) };
        return;
      }
      yield { users };
      after = page[page.length - 1]!.id;
    }
  }

  async getUser(ref: string): Promise<SourceUser | null> {
    const r = (await this.repo.get(this.connectorId, 'User', ref)) ?? (await this.repo.byName(this.connectorId, 'User', ref)) ?? (await this.repo.byExternalId(this.connectorId, 'User', ref))[0];
    if (!r || r.deletedAt) return null;
    return (await this.usersOf([r]))[0] ?? null;
  }

  async searchUsers(text: string, limit: number): Promise<UserHit[]> {
    const rows = await this.repo.prefix(this.connectorId, text, limit);
    return (await this.usersOf(rows)).map((u) => ({ id: u.id, displayName: str(u.attrs.displayName), userPrincipalName: str(u.attrs.userName), mail: str(u.attrs.mail) }));
  }

  /** Every live pushed group: its SCIM id and the displayName its members' `groups` carry (repo.groupsOf). */
  private async groupList(): Promise<SourceGroup[]> {
    const groups: Array<{ id: string; name: string }> = [];
    for (let after: string | null = null; ; ) {
      const page = await this.repo.page(this.connectorId, 'Group', after, PAGE);
      for (const g of page) if (typeof g.resource?.displayName === 'string') groups.push({ id: g.id, name: g.resource.displayName });
      if (page.length < PAGE) return groupListOf(groups);
      after = page[page.length - 1]!.id;
    }
  }

  /** SourceUsers of stored users, with their groups. */
  async usersOf(rows: StoredResource[]): Promise<SourceUser[]> {
    const groups = await this.repo.groupsOf(this.connectorId, rows.map((r) => r.id));
    return rows.filter((r) => r.resource).map((r) => sourceUserOf(r, groups.get(r.id)));
  }
}

const str = (v: unknown) => (typeof v === 'string' ? v : null);

export const definition: SourceDefinition<ScimConfig> = {
  type: 'scim',
  label: 'Inbound SCIM 2.0 (Entra ID, Okta provisioning)',
  configSchema: scimConfigSchema,
  secretFields: [],
  knownAttributes: KNOWN_ATTRIBUTES,
  create(config, ctx) {
    if (!ctx.store) throw new IdsyncError('INTERNAL', 'the SCIM source needs the store (it answers from the pushed resources)');
    if (!ctx.connectorId) throw new IdsyncError('INTERNAL', 'the SCIM source needs its connector id');
    void config;
    return new ScimSource(ctx.connectorId, ctx.store.db);
  },
};
