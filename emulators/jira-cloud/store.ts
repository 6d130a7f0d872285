// In-memory state of the Jira Cloud emulator: accounts, groups (with ids, as Cloud addresses
// groups by id), memberships and user properties. Cloud has no usernames: an account is known
// by its account id; its email may be hidden by the owner's profile visibility.
import { createHash } from 'node:crypto';

export interface CloudAccount {
  accountId: string;
  accountType: 'atlassian' | 'app' | 'customer';
  displayName: string;
  emailAddress: string | null;
  /** Profile visibility: when false the API omits emailAddress (search by email still matches). */
  emailVisible: boolean;
  active: boolean;
  timeZone: string;
  locale: string;
}

export interface CloudGroup {
  groupId: string;
  name: string;
  members: Set<string>; // account ids
}

export interface SeedAccount {
  displayName: string;
  emailAddress?: string | null;
  emailVisible?: boolean;
  active?: boolean;
  accountType?: CloudAccount['accountType'];
  accountId?: string;
  groups?: string[];
  properties?: Record<string, unknown>;
}

export interface JiraCloudSeed {
  accounts: SeedAccount[];
  groups: string[];
}

/** Deterministic Cloud-looking ids (`712020:<uuid>` for accounts, a uuid for groups). */
export function stableUuid(text: string): string {
  const h = createHash('sha1').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const ADMIN_ACCOUNT_ID = `712020:${stableUuid('account:admin')}`;

/** The default site: an admin (the API caller), ordinary people and the awkward cases. */
export function defaultJiraCloudSeed(): JiraCloudSeed {
  return {
    groups: ['jira-software-users', 'site-admins', 'engineering', 'sales'],
    accounts: [
      { accountId: ADMIN_ACCOUNT_ID, displayName: 'Site Admin', emailAddress: 'admin@example.com', groups: ['site-admins', 'jira-software-users'] },
      { displayName: 'Ada Lovelace', emailAddress: 'ada@example.com', groups: ['jira-software-users', 'engineering'] },
      { displayName: 'Grace Hopper', emailAddress: 'grace@example.com', groups: ['jira-software-users'] },
      // Owner hid their email: lookups by email work, responses omit it.
      { displayName: 'Zoë Ørsted-Łukasz', emailAddress: 'zoe@example.com', emailVisible: false, groups: ['jira-software-users'] },
      { displayName: 'Former Employee', emailAddress: 'gone@example.com', active: false },
      { displayName: 'Automation for Jira', emailAddress: null, accountType: 'app' },
    ],
  };
}

export class JiraCloudStore {
  readonly accounts = new Map<string, CloudAccount>();
  private readonly groupsById = new Map<string, CloudGroup>();
  private readonly groupIdByName = new Map<string, string>(); // lower(name) → id
  /** account id → property key → JSON text (kept as text: the size limit is on the text). */
  readonly properties = new Map<string, Map<string, string>>();

  constructor(seed: JiraCloudSeed = defaultJiraCloudSeed()) {
    this.load(seed);
  }

  load(seed: JiraCloudSeed): void {
    for (const g of seed.groups) this.createGroup(g);
    for (const a of seed.accounts) this.addAccount(a);
  }

  addAccount(a: SeedAccount): CloudAccount {
    const accountId = a.accountId ?? `712020:${stableUuid(`account:${a.emailAddress ?? a.displayName}`)}`;
    const account: CloudAccount = {
      accountId,
      accountType: a.accountType ?? 'atlassian',
      displayName: a.displayName,
      emailAddress: a.emailAddress === undefined ? null : a.emailAddress,
      emailVisible: a.emailVisible ?? true,
      active: a.active ?? true,
      timeZone: 'Europe/Berlin',
      locale: 'en_US',
    };
    this.accounts.set(accountId, account);
    for (const g of a.groups ?? []) {
      const group = this.groupByName(g) ?? this.createGroup(g);
      group.members.add(accountId);
    }
    for (const [k, v] of Object.entries(a.properties ?? {})) this.setProperty(accountId, k, JSON.stringify(v));
    return account;
  }

  // ------------------------------------------------------------ groups

  createGroup(name: string): CloudGroup {
    const existing = this.groupByName(name);
    if (existing) return existing;
    const group: CloudGroup = { groupId: stableUuid(`group:${name.toLowerCase()}`), name, members: new Set() };
    this.groupsById.set(group.groupId, group);
    this.groupIdByName.set(name.toLowerCase(), group.groupId);
    return group;
  }

  deleteGroup(groupId: string): void {
    const g = this.groupsById.get(groupId);
    if (!g) return;
    this.groupsById.delete(groupId);
    this.groupIdByName.delete(g.name.toLowerCase());
  }

  groupByName(name: string): CloudGroup | undefined {
    const id = this.groupIdByName.get(name.toLowerCase());
    return id === undefined ? undefined : this.groupsById.get(id);
  }

  groupById(id: string): CloudGroup | undefined {
    return this.groupsById.get(id);
  }

  allGroups(): CloudGroup[] {
    return [...this.groupsById.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  groupsOf(accountId: string): CloudGroup[] {
    return this.allGroups().filter((g) => g.members.has(accountId));
  }

  // ------------------------------------------------------------ properties

  setProperty(accountId: string, key: string, json: string): 'created' | 'updated' {
    let props = this.properties.get(accountId);
    if (!props) this.properties.set(accountId, (props = new Map()));
    const existed = props.has(key);
    props.set(key, json);
    return existed ? 'updated' : 'created';
  }

  getProperty(accountId: string, key: string): string | undefined {
    return this.properties.get(accountId)?.get(key);
  }

  deleteProperty(accountId: string, key: string): boolean {
    return this.properties.get(accountId)?.delete(key) ?? false;
  }

  propertyKeys(accountId: string): string[] {
    return [...(this.properties.get(accountId)?.keys() ?? [])].sort();
  }

  // ------------------------------------------------------------ search

  /**
   * Cloud's `/user/search?query=`: active accounts whose display name or email starts with the
   * query (case-insensitive), or whose email equals it. Email matches work even when the email
   * is hidden, which is why a full address finds the person while the answer omits the address.
   */
  search(query: string): CloudAccount[] {
    const q = query.trim().toLowerCase();
    if (!q) return [];
    return [...this.accounts.values()].filter((a) => {
      if (!a.active) return false;
      const email = a.emailAddress?.toLowerCase();
      if (email && (email === q || email.startsWith(q))) return true;
      return a.displayName.toLowerCase().split(/\s+/).some((w) => w.startsWith(q)) || a.displayName.toLowerCase().startsWith(q);
    });
  }
}
