// In-memory state of the Confluence Data Center emulator: users (with their immutable user
// key), groups, memberships and the profile fields that Confluence keeps through
// UserDetailsManager (phone, im, website, position, department, location). Users are indexed
// by key, by username and by email so large seeded directories stay fast.
import { randomBytes } from 'node:crypto';

/** The profile fields Confluence stores per user through UserDetailsManager. */
export const PROFILE_FIELDS = ['phone', 'im', 'website', 'position', 'department', 'location'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

export interface ConfluenceDcUser {
  /** Immutable user key: 32 hex characters, as Confluence 5.7+ generates them. */
  userKey: string;
  /** Username; Confluence stores it lower-case. */
  username: string;
  fullName: string;
  email: string;
  active: boolean;
  password?: string;
  /** Personal access tokens of this user (Bearer). */
  tokens: string[];
  /** Holds the "Confluence Administrator" or "System Administrator" global permission. */
  admin: boolean;
  profile: Partial<Record<ProfileField, string>>;
  /**
   * In a read-only directory (e.g. LDAP without write access): Confluence cannot remove such a
   * user, so its removal task ends unsuccessfully. Lets tests see a refused delete.
   */
  readOnlyDirectory: boolean;
}

export interface SeedUser {
  username: string;
  fullName?: string;
  email?: string;
  active?: boolean;
  password?: string;
  tokens?: string[];
  admin?: boolean;
  userKey?: string;
  groups?: string[];
  profile?: Partial<Record<ProfileField, string>>;
  readOnlyDirectory?: boolean;
}

interface Group {
  name: string;
  members: Set<string>; // user keys
  sorted?: string[]; // member keys sorted by username, rebuilt after a change
}

/** A long-running task (GET /rest/api/longtask/{id}); only user removal is modelled. */
export interface LongTask {
  id: string;
  username: string;
  finished: boolean;
  successful: boolean;
  messages: string[];
}

const lower = (s: string) => s.toLowerCase();

export class ConfluenceDcStore {
  private users = new Map<string, ConfluenceDcUser>(); // userKey → user
  private byName = new Map<string, string>(); // username → userKey
  private byEmail = new Map<string, Set<string>>(); // lower(email) → keys
  private byToken = new Map<string, string>(); // PAT → userKey
  private groups = new Map<string, Group>(); // lower(name) → group
  private userGroups = new Map<string, Set<string>>(); // userKey → lower(group names)
  private sortedUsers?: string[];
  /** Long-running tasks started by DELETE (user removal is asynchronous in Confluence). */
  readonly longTasks = new Map<string, LongTask>();
  private taskSeq = 1;

  get userCount(): number {
    return this.users.size;
  }

  get activeCount(): number {
    let n = 0;
    for (const u of this.users.values()) if (u.active) n++;
    return n;
  }

  clear(): void {
    this.users.clear();
    this.byName.clear();
    this.byEmail.clear();
    this.byToken.clear();
    this.groups.clear();
    this.userGroups.clear();
    this.longTasks.clear();
    this.sortedUsers = undefined;
  }

  // ------------------------------------------------------------ users

  getByKey(key: string): ConfluenceDcUser | undefined {
    return this.users.get(key);
  }

  getByName(username: string): ConfluenceDcUser | undefined {
    // Confluence matches usernames without regard to case (they are stored lower-case).
    const key = this.byName.get(lower(username));
    return key === undefined ? undefined : this.users.get(key);
  }

  getByEmail(email: string): ConfluenceDcUser[] {
    const keys = this.byEmail.get(lower(email));
    return keys ? [...keys].map((k) => this.users.get(k)!) : [];
  }

  getByToken(token: string): ConfluenceDcUser | undefined {
    const key = this.byToken.get(token);
    return key === undefined ? undefined : this.users.get(key);
  }

  /** Users sorted by username, the order Confluence's user list uses. */
  sortedUserKeys(): string[] {
    this.sortedUsers ??= [...this.users.values()].sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0)).map((u) => u.userKey);
    return this.sortedUsers;
  }

  createUser(u: SeedUser): ConfluenceDcUser {
    const username = lower(u.username);
    if (this.byName.has(username)) throw new Error(`user ${username} already exists`);
    let userKey = u.userKey;
    if (userKey === undefined || this.users.has(userKey)) {
      do userKey = randomBytes(16).toString('hex');
      while (this.users.has(userKey));
    }
    const user: ConfluenceDcUser = {
      userKey,
      username,
      fullName: u.fullName ?? username,
      email: u.email ?? '',
      active: u.active ?? true,
      password: u.password,
      tokens: [...(u.tokens ?? [])],
      admin: u.admin ?? false,
      profile: { ...u.profile },
      readOnlyDirectory: u.readOnlyDirectory ?? false,
    };
    this.users.set(userKey, user);
    this.byName.set(username, userKey);
    this.indexEmail(user);
    for (const t of user.tokens) this.byToken.set(t, userKey);
    this.sortedUsers = undefined;
    for (const g of u.groups ?? []) {
      if (!this.getGroup(g)) this.createGroup(g);
      this.addMember(g, userKey);
    }
    return user;
  }

  updateUser(key: string, patch: { fullName?: string; email?: string; active?: boolean }): void {
    const user = this.users.get(key);
    if (!user) throw new Error(`no user ${key}`);
    if (patch.email !== undefined && patch.email !== user.email) {
      this.unindexEmail(user);
      user.email = patch.email;
      this.indexEmail(user);
    }
    if (patch.fullName !== undefined) user.fullName = patch.fullName;
    if (patch.active !== undefined) user.active = patch.active;
  }

  /** Renames a user; the user key stays, as in Confluence 5.7+. */
  renameUser(key: string, newName: string): void {
    const user = this.users.get(key);
    if (!user) throw new Error(`no user ${key}`);
    const username = lower(newName);
    if (username === user.username) return;
    if (this.byName.has(username)) throw new Error(`user ${username} already exists`);
    this.byName.delete(user.username);
    user.username = username;
    this.byName.set(username, key);
    this.sortedUsers = undefined;
    for (const g of this.userGroups.get(key) ?? []) {
      const group = this.groups.get(g);
      if (group) group.sorted = undefined;
    }
  }

  deleteUser(key: string): void {
    const user = this.users.get(key);
    if (!user) return;
    this.users.delete(key);
    this.byName.delete(user.username);
    this.unindexEmail(user);
    for (const t of user.tokens) this.byToken.delete(t);
    for (const g of this.userGroups.get(key) ?? []) {
      const group = this.groups.get(g);
      if (group) {
        group.members.delete(key);
        group.sorted = undefined;
      }
    }
    this.userGroups.delete(key);
    this.sortedUsers = undefined;
  }

  /**
   * Starts the removal of a user as Confluence does: a long-running task that finishes on its
   * own after `durationMs` (the user stays readable until then). A user of a read-only
   * directory is not removed; the task ends unsuccessfully with a message.
   */
  startDeletion(userKey: string, durationMs: number): LongTask {
    const user = this.users.get(userKey)!;
    const task: LongTask = { id: String(this.taskSeq++), username: user.username, finished: false, successful: false, messages: [] };
    this.longTasks.set(task.id, task);
    const finish = () => {
      if (this.longTasks.get(task.id) !== task) return; // the emulator was reset meanwhile
      if (user.readOnlyDirectory) {
        task.messages.push(`User ${user.username} cannot be removed: the directory it belongs to is read-only`);
      } else {
        this.deleteUser(userKey);
        task.successful = true;
      }
      task.finished = true;
    };
    if (durationMs <= 0) finish();
    else setTimeout(finish, durationMs).unref();
    return task;
  }

  private indexEmail(u: ConfluenceDcUser): void {
    if (!u.email) return;
    const k = lower(u.email);
    let set = this.byEmail.get(k);
    if (!set) this.byEmail.set(k, (set = new Set()));
    set.add(u.userKey);
  }

  private unindexEmail(u: ConfluenceDcUser): void {
    if (!u.email) return;
    const set = this.byEmail.get(lower(u.email));
    set?.delete(u.userKey);
    if (set?.size === 0) this.byEmail.delete(lower(u.email));
  }

  // ------------------------------------------------------------ groups

  getGroup(name: string): { name: string } | undefined {
    return this.groups.get(lower(name));
  }

  createGroup(name: string): { name: string } {
    const existing = this.groups.get(lower(name));
    if (existing) return existing;
    // Confluence (through embedded Crowd) stores group names lower-case.
    const group: Group = { name: lower(name), members: new Set() };
    this.groups.set(lower(name), group);
    return group;
  }

  groupNames(): string[] {
    return [...this.groups.values()].map((g) => g.name).sort();
  }

  addMember(groupName: string, key: string): void {
    const group = this.groups.get(lower(groupName));
    if (!group) throw new Error(`no group ${groupName}`);
    group.members.add(key);
    group.sorted = undefined;
    let set = this.userGroups.get(key);
    if (!set) this.userGroups.set(key, (set = new Set()));
    set.add(lower(groupName));
  }

  removeMember(groupName: string, key: string): void {
    const group = this.groups.get(lower(groupName));
    if (!group) return;
    group.members.delete(key);
    group.sorted = undefined;
    this.userGroups.get(key)?.delete(lower(groupName));
  }

  groupsOf(key: string): string[] {
    return [...(this.userGroups.get(key) ?? [])].map((g) => this.groups.get(g)!.name).sort();
  }

  membersOf(groupName: string): string[] | undefined {
    const group = this.groups.get(lower(groupName));
    if (!group) return undefined;
    group.sorted ??= [...group.members].sort((a, b) => {
      const na = this.users.get(a)!.username;
      const nb = this.users.get(b)!.username;
      return na < nb ? -1 : na > nb ? 1 : 0;
    });
    return group.sorted;
  }
}
