// In-memory state of the Confluence Cloud emulator: Atlassian accounts (by account id, with
// their email visibility), groups by id, memberships and user properties (per account).
import { randomBytes, randomUUID } from 'node:crypto';

export interface CloudAccount {
  accountId: string;
  displayName: string;
  publicName: string;
  email: string;
  /** The owner's profile visibility: when false, the API answers an empty email. */
  emailVisible: boolean;
  accountType: 'atlassian' | 'app';
  timeZone: string;
  active: boolean;
  /** API tokens of this account (Basic email:token). */
  apiTokens: string[];
  siteAdmin: boolean;
}

export interface CloudProperty {
  id: string;
  key: string;
  /** Stored as JSON text so readers get a copy. */
  json: string;
  createdDate: string;
  lastModifiedDate: string;
}

export interface SeedAccount {
  displayName: string;
  email: string;
  accountId?: string;
  emailVisible?: boolean;
  accountType?: 'atlassian' | 'app';
  active?: boolean;
  apiTokens?: string[];
  siteAdmin?: boolean;
  groups?: string[];
  properties?: Record<string, unknown>;
}

const lower = (s: string) => s.toLowerCase();

export class ConfluenceCloudStore {
  private accounts = new Map<string, CloudAccount>();
  private byEmail = new Map<string, string>(); // lower(email) → accountId
  private groups = new Map<string, { id: string; name: string; members: Set<string> }>(); // id → group
  private groupByName = new Map<string, string>(); // lower(name) → id
  private properties = new Map<string, Map<string, CloudProperty>>(); // accountId → key → property
  private sorted?: string[];
  private propertySeq = 1;

  clear(): void {
    this.accounts.clear();
    this.byEmail.clear();
    this.groups.clear();
    this.groupByName.clear();
    this.properties.clear();
    this.sorted = undefined;
  }

  get(accountId: string): CloudAccount | undefined {
    return this.accounts.get(accountId);
  }

  getByEmail(email: string): CloudAccount | undefined {
    const id = this.byEmail.get(lower(email));
    return id ? this.accounts.get(id) : undefined;
  }

  /** Accounts in a stable order (display name), as a search would list them. */
  sortedIds(): string[] {
    this.sorted ??= [...this.accounts.values()].sort((a, b) => a.displayName.localeCompare(b.displayName) || a.accountId.localeCompare(b.accountId)).map((a) => a.accountId);
    return this.sorted;
  }

  createAccount(s: SeedAccount): CloudAccount {
    if (this.byEmail.has(lower(s.email))) throw new Error(`an account with ${s.email} exists`);
    // Account ids look like "712020:<uuid>" for newer accounts.
    const accountId = s.accountId ?? `712020:${randomUUID()}`;
    const a: CloudAccount = {
      accountId,
      displayName: s.displayName,
      publicName: s.displayName.split(' ')[0] ?? s.displayName,
      email: s.email,
      emailVisible: s.emailVisible ?? true,
      accountType: s.accountType ?? 'atlassian',
      timeZone: 'Europe/Zurich',
      active: s.active ?? true,
      apiTokens: [...(s.apiTokens ?? [])],
      siteAdmin: s.siteAdmin ?? false,
    };
    this.accounts.set(accountId, a);
    this.byEmail.set(lower(s.email), accountId);
    this.sorted = undefined;
    for (const g of s.groups ?? []) this.addMember(this.groupIdByName(g) ?? this.createGroup(g).id, accountId);
    for (const [k, v] of Object.entries(s.properties ?? {})) this.setProperty(accountId, k, JSON.stringify(v));
    return a;
  }

  // ------------------------------------------------------------ groups

  createGroup(name: string): { id: string; name: string } {
    const existing = this.groupIdByName(name);
    if (existing) return this.groups.get(existing)!;
    const g = { id: randomUUID(), name, members: new Set<string>() };
    this.groups.set(g.id, g);
    this.groupByName.set(lower(name), g.id);
    return g;
  }

  group(id: string): { id: string; name: string } | undefined {
    return this.groups.get(id);
  }

  groupIdByName(name: string): string | undefined {
    return this.groupByName.get(lower(name));
  }

  searchGroups(query: string): Array<{ id: string; name: string }> {
    const q = lower(query);
    return [...this.groups.values()].filter((g) => lower(g.name).includes(q)).sort((a, b) => a.name.localeCompare(b.name));
  }

  addMember(groupId: string, accountId: string): void {
    this.groups.get(groupId)!.members.add(accountId);
  }

  removeMember(groupId: string, accountId: string): void {
    this.groups.get(groupId)?.members.delete(accountId);
  }

  groupsOf(accountId: string): Array<{ id: string; name: string }> {
    return [...this.groups.values()].filter((g) => g.members.has(accountId)).sort((a, b) => a.name.localeCompare(b.name));
  }

  membersOf(groupId: string): string[] | undefined {
    const g = this.groups.get(groupId);
    return g ? [...g.members].sort() : undefined;
  }

  // ------------------------------------------------------------ properties

  propertyKeys(accountId: string): string[] {
    return [...(this.properties.get(accountId)?.keys() ?? [])].sort();
  }

  getProperty(accountId: string, key: string): CloudProperty | undefined {
    return this.properties.get(accountId)?.get(key);
  }

  setProperty(accountId: string, key: string, json: string): CloudProperty {
    let map = this.properties.get(accountId);
    if (!map) this.properties.set(accountId, (map = new Map()));
    const now = new Date().toISOString();
    const existing = map.get(key);
    if (existing) {
      existing.json = json;
      existing.lastModifiedDate = now;
      return existing;
    }
    const p: CloudProperty = { id: String(this.propertySeq++), key, json, createdDate: now, lastModifiedDate: now };
    map.set(key, p);
    return p;
  }

  deleteProperty(accountId: string, key: string): boolean {
    return this.properties.get(accountId)?.delete(key) ?? false;
  }
}

export function newApiToken(): string {
  return `ATATT3x${randomBytes(24).toString('base64url')}`;
}
