// In-memory state of the Crowd emulator (one internal directory seen through one application):
// users with an immutable key (Crowd 2.7+, survives renames), multi-valued string attributes,
// groups and direct memberships. Names compare without case, as Crowd does.
import { createHash } from 'node:crypto';

export interface CrowdUser {
  /** Immutable: `<directoryId>:<uuid>`. */
  key: string;
  name: string;
  firstName: string;
  lastName: string;
  displayName: string;
  email: string;
  active: boolean;
  password: string;
  attributes: Map<string, string[]>;
  created: string;
  updated: string;
}

export interface CrowdGroup {
  name: string;
  description: string;
  active: boolean;
  members: Set<string>; // user keys
}

export interface SeedCrowdUser {
  name: string;
  displayName: string;
  email: string;
  firstName?: string;
  lastName?: string;
  active?: boolean;
  groups?: string[];
  attributes?: Record<string, string[]>;
}

export interface CrowdSeed {
  users: SeedCrowdUser[];
  groups: string[];
}

export const DIRECTORY_ID = 32769;

export function defaultCrowdSeed(): CrowdSeed {
  return {
    groups: ['crowd-administrators', 'jira-software-users', 'confluence-users', 'engineering'],
    users: [
      { name: 'admin', displayName: 'Crowd Admin', email: 'admin@example.com', groups: ['crowd-administrators'] },
      { name: 'ada', displayName: 'Ada Lovelace', email: 'ada@example.com', groups: ['jira-software-users', 'engineering'], attributes: { costCenter: ['4711'] } },
      { name: 'grace', displayName: 'Grace Hopper', email: 'grace@example.com', groups: ['jira-software-users'] },
      { name: 'zoe', displayName: 'Zoë Ørsted-Łukasz', email: 'zoe@example.com', firstName: 'Zoë', lastName: 'Ørsted-Łukasz' },
      { name: 'gone', displayName: 'Former Employee', email: 'gone@example.com', active: false },
      // Crowd does not force unique emails: two accounts share one here.
      { name: 'shared1', displayName: 'Shared One', email: 'shared@example.com' },
      { name: 'shared2', displayName: 'Shared Two', email: 'shared@example.com' },
    ],
  };
}

const lower = (s: string) => s.toLowerCase();

export class CrowdStore {
  readonly users = new Map<string, CrowdUser>(); // key → user
  private readonly byName = new Map<string, string>(); // lower(name) → key
  readonly groups = new Map<string, CrowdGroup>(); // lower(name) → group
  private counter = 0;

  constructor(seed: CrowdSeed = defaultCrowdSeed()) {
    for (const g of seed.groups) this.addGroup(g);
    for (const u of seed.users) {
      const user = this.addUser({
        name: u.name,
        displayName: u.displayName,
        email: u.email,
        firstName: u.firstName ?? u.displayName.split(' ')[0]!,
        lastName: u.lastName ?? (u.displayName.split(' ').slice(1).join(' ') || u.displayName),
        active: u.active ?? true,
        password: 'seeded',
      });
      for (const [k, v] of Object.entries(u.attributes ?? {})) user.attributes.set(k, [...v]);
      for (const g of u.groups ?? []) (this.group(g) ?? this.addGroup(g)).members.add(user.key);
    }
  }

  user(name: string): CrowdUser | undefined {
    const key = this.byName.get(lower(name));
    return key === undefined ? undefined : this.users.get(key);
  }

  addUser(u: Omit<CrowdUser, 'key' | 'attributes' | 'created' | 'updated'>): CrowdUser {
    const now = new Date().toISOString();
    const h = createHash('sha1').update(`crowd-user:${++this.counter}:${u.name}`).digest('hex');
    const user: CrowdUser = { ...u, key: `${DIRECTORY_ID}:${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`, attributes: new Map(), created: now, updated: now };
    this.users.set(user.key, user);
    this.byName.set(lower(user.name), user.key);
    return user;
  }

  rename(user: CrowdUser, newName: string): void {
    this.byName.delete(lower(user.name));
    user.name = newName;
    this.byName.set(lower(newName), user.key);
  }

  removeUser(user: CrowdUser): void {
    this.users.delete(user.key);
    this.byName.delete(lower(user.name));
    for (const g of this.groups.values()) g.members.delete(user.key);
  }

  group(name: string): CrowdGroup | undefined {
    return this.groups.get(lower(name));
  }

  addGroup(name: string, description = ''): CrowdGroup {
    const g: CrowdGroup = { name, description, active: true, members: new Set() };
    this.groups.set(lower(name), g);
    return g;
  }

  groupsOf(user: CrowdUser): CrowdGroup[] {
    return [...this.groups.values()].filter((g) => g.members.has(user.key)).sort((a, b) => a.name.localeCompare(b.name));
  }
}
