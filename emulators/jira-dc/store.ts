// In-memory state of the Jira Data Center emulator: users, groups, memberships and user
// properties. Everything is indexed by maps so 100,000 users stay fast: a user is found by
// key, by username (case-insensitive, as Jira does) and by email without scanning.
import { PrefixIndex } from '../common/prefix-index.ts';

export interface JiraDcUser {
  /** Immutable user key. New users get `JIRAUSER<n>`, as Jira 8+ does; it survives renames. */
  key: string;
  /** Username (`name` in the REST API). Unique, compared without case. */
  name: string;
  displayName: string;
  emailAddress: string;
  active: boolean;
  password?: string;
  /**
   * Keys of projects this user leads. Jira refuses to delete a project lead (the lead is the
   * default assignee and may hold project administration alone), so a seeded lead lets tests
   * see that refusal.
   */
  projectLeadOf: string[];
}

export interface SeedUser {
  name: string;
  displayName?: string;
  emailAddress?: string;
  active?: boolean;
  password?: string;
  /** Keep a given key (e.g. a legacy key equal to the username of an old instance). */
  key?: string;
  groups?: string[];
  /** Property values (any JSON). */
  properties?: Record<string, unknown>;
  /** Keys of projects the user leads (deleting such a user is refused, as in Jira). */
  projectLeadOf?: string[];
}

interface Group {
  name: string;
  members: Set<string>; // user keys
  /** Members sorted by username, rebuilt lazily after a change (paged reads stay cheap). */
  sorted?: string[];
}

const lower = (s: string) => s.toLowerCase();

export class JiraDcStore {
  private users = new Map<string, JiraDcUser>(); // key → user
  private byName = new Map<string, string>(); // lower(username) → key
  private byEmail = new Map<string, Set<string>>(); // lower(email) → keys (Jira does not force unique emails)
  private groups = new Map<string, Group>(); // lower(name) → group
  private userGroups = new Map<string, Set<string>>(); // key → lower(group names)
  private properties = new Map<string, Map<string, string>>(); // key → property key → JSON text
  private nextId = 10000;
  /** Username, email and name words, for /user/search (hits are re-checked by the caller). */
  private searchIndex = new PrefixIndex();

  /** Forgets everything (the emulator's reset). Keys keep counting up, as in a real instance. */
  clear(): void {
    this.users.clear();
    this.byName.clear();
    this.byEmail.clear();
    this.searchIndex.clear();
    this.groups.clear();
    this.userGroups.clear();
    this.properties.clear();
  }

  get userCount(): number {
    return this.users.size;
  }

  // ------------------------------------------------------------ users

  getByKey(key: string): JiraDcUser | undefined {
    return this.users.get(key);
  }

  getByName(name: string): JiraDcUser | undefined {
    const key = this.byName.get(lower(name));
    return key === undefined ? undefined : this.users.get(key);
  }

  getByEmail(email: string): JiraDcUser[] {
    const keys = this.byEmail.get(lower(email));
    return keys ? [...keys].map((k) => this.users.get(k)!) : [];
  }

  allUsers(): IterableIterator<JiraDcUser> {
    return this.users.values();
  }

  /**
   * Users with a username, email or display-name word starting with `prefix` (as candidates:
   * the caller applies the exact matching rule), in creation order like a scan would give.
   */
  searchCandidates(prefix: string): JiraDcUser[] {
    const found: JiraDcUser[] = [];
    for (const key of this.searchIndex.candidates(prefix)) {
      const u = this.users.get(key);
      if (u) found.push(u);
    }
    return found.sort((a, b) => creationOrder(a.key) - creationOrder(b.key) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private indexForSearch(u: JiraDcUser): void {
    this.searchIndex.add(u.key, [u.name, u.emailAddress, u.displayName, ...u.displayName.split(/\s+/)]);
  }

  createUser(u: SeedUser): JiraDcUser {
    if (this.byName.has(lower(u.name))) throw new Error(`user ${u.name} already exists`);
    let key = u.key;
    if (key === undefined || this.users.has(key)) {
      do key = `JIRAUSER${this.nextId++}`;
      while (this.users.has(key));
    }
    const user: JiraDcUser = {
      key,
      name: u.name,
      displayName: u.displayName ?? u.name,
      emailAddress: u.emailAddress ?? '',
      active: u.active ?? true,
      password: u.password,
      projectLeadOf: [...(u.projectLeadOf ?? [])],
    };
    this.users.set(key, user);
    this.byName.set(lower(user.name), key);
    this.indexEmail(user);
    this.indexForSearch(user);
    for (const g of u.groups ?? []) {
      this.ensureGroup(g);
      this.addMember(g, key);
    }
    for (const [pk, pv] of Object.entries(u.properties ?? {})) this.setProperty(key, pk, JSON.stringify(pv));
    return user;
  }

  /** Applies a partial update; the caller has validated uniqueness. */
  updateUser(key: string, patch: Partial<Pick<JiraDcUser, 'name' | 'displayName' | 'emailAddress' | 'active' | 'password'>>): JiraDcUser {
    const user = this.users.get(key);
    if (!user) throw new Error(`no user with key ${key}`);
    if (patch.name !== undefined && patch.name !== user.name) {
      this.byName.delete(lower(user.name));
      user.name = patch.name;
      this.byName.set(lower(user.name), key);
      // Usernames order group member pages.
      for (const g of this.userGroups.get(key) ?? []) this.groups.get(g)!.sorted = undefined;
    }
    if (patch.emailAddress !== undefined && patch.emailAddress !== user.emailAddress) {
      this.unindexEmail(user);
      user.emailAddress = patch.emailAddress;
      this.indexEmail(user);
    }
    if (patch.displayName !== undefined) user.displayName = patch.displayName;
    if (patch.name !== undefined || patch.emailAddress !== undefined || patch.displayName !== undefined) this.indexForSearch(user);
    if (patch.active !== undefined) user.active = patch.active;
    if (patch.password !== undefined) user.password = patch.password;
    return user;
  }

  deleteUser(key: string): void {
    const user = this.users.get(key);
    if (!user) return;
    for (const g of this.userGroups.get(key) ?? []) this.removeMember(g, key);
    this.users.delete(key);
    this.byName.delete(lower(user.name));
    this.unindexEmail(user);
    this.userGroups.delete(key);
    this.properties.delete(key);
  }

  private indexEmail(u: JiraDcUser): void {
    if (!u.emailAddress) return;
    const k = lower(u.emailAddress);
    let set = this.byEmail.get(k);
    if (!set) this.byEmail.set(k, (set = new Set()));
    set.add(u.key);
  }

  private unindexEmail(u: JiraDcUser): void {
    if (!u.emailAddress) return;
    const set = this.byEmail.get(lower(u.emailAddress));
    set?.delete(u.key);
    if (set && set.size === 0) this.byEmail.delete(lower(u.emailAddress));
  }

  // ------------------------------------------------------------ groups

  hasGroup(name: string): boolean {
    return this.groups.has(lower(name));
  }

  groupName(name: string): string | undefined {
    return this.groups.get(lower(name))?.name;
  }

  ensureGroup(name: string): void {
    if (!this.groups.has(lower(name))) this.groups.set(lower(name), { name, members: new Set() });
  }

  allGroups(): string[] {
    return [...this.groups.values()].map((g) => g.name);
  }

  isMember(group: string, key: string): boolean {
    return this.groups.get(lower(group))?.members.has(key) ?? false;
  }

  addMember(group: string, key: string): void {
    const g = this.groups.get(lower(group));
    if (!g) throw new Error(`no group ${group}`);
    g.members.add(key);
    g.sorted = undefined;
    let set = this.userGroups.get(key);
    if (!set) this.userGroups.set(key, (set = new Set()));
    set.add(lower(group));
  }

  removeMember(group: string, key: string): void {
    const g = this.groups.get(lower(group));
    if (!g) return;
    g.members.delete(key);
    g.sorted = undefined;
    this.userGroups.get(key)?.delete(lower(group));
  }

  /** Member keys sorted by username, as Jira pages them. */
  members(group: string): string[] {
    const g = this.groups.get(lower(group));
    if (!g) return [];
    g.sorted ??= [...g.members].sort((a, b) => {
      const na = lower(this.users.get(a)!.name);
      const nb = lower(this.users.get(b)!.name);
      return na < nb ? -1 : na > nb ? 1 : 0;
    });
    return g.sorted;
  }

  /** Group names of a user, sorted. */
  groupsOf(key: string): string[] {
    return [...(this.userGroups.get(key) ?? [])].map((g) => this.groups.get(g)!.name).sort();
  }

  // ------------------------------------------------------------ properties

  /** Property value as the JSON text that was stored. */
  getProperty(key: string, prop: string): string | undefined {
    return this.properties.get(key)?.get(prop);
  }

  propertyKeys(key: string): string[] {
    return [...(this.properties.get(key)?.keys() ?? [])].sort();
  }

  /** Returns true when the property was created, false when it was replaced. */
  setProperty(key: string, prop: string, json: string): boolean {
    let props = this.properties.get(key);
    if (!props) this.properties.set(key, (props = new Map()));
    const created = !props.has(prop);
    props.set(prop, json);
    return created;
  }

  deleteProperty(key: string, prop: string): boolean {
    return this.properties.get(key)?.delete(prop) ?? false;
  }

  /** Parsed properties of a user, for inspection. */
  propertiesOf(key: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of this.properties.get(key) ?? []) out[k] = JSON.parse(v);
    return out;
  }
}

/** Position of a key in creation order: generated keys carry a counter, seeded ones sort by text. */
function creationOrder(key: string): number {
  const m = /^JIRAUSER(\d+)$/.exec(key);
  return m ? Number(m[1]) : -1;
}
