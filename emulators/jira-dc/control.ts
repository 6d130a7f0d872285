// Control routes of the Jira DC emulator, under /_emulator/ (no auth, loopback only):
// inspect what a connector wrote (users with their groups and properties) and seed data.
//   GET  /_emulator/users[?username=]     all users (or one by username), with groups and properties
//   GET  /_emulator/users/:key            one user by key
//   POST /_emulator/users                 {users:[SeedUser...]} → {keys:[...]}
//   GET  /_emulator/groups                [{name, members}]
//   POST /_emulator/groups                {names:[...]}
// Faults, stats and reset come from the common server (/_emulator/faults, /stats, /reset).
import { Router } from '../common/server.ts';
import type { JiraDcStore, JiraDcUser, SeedUser } from './store.ts';

export interface InspectedUser {
  key: string;
  name: string;
  displayName: string;
  emailAddress: string;
  active: boolean;
  groups: string[];
  properties: Record<string, unknown>;
}

export function inspectUser(store: JiraDcStore, u: JiraDcUser): InspectedUser {
  return {
    key: u.key,
    name: u.name,
    displayName: u.displayName,
    emailAddress: u.emailAddress,
    active: u.active,
    groups: store.groupsOf(u.key),
    properties: store.propertiesOf(u.key),
  };
}

export function seed(store: JiraDcStore, users: SeedUser[] = [], groups: string[] = []): string[] {
  for (const g of groups) store.ensureGroup(g);
  return users.map((u) => store.createUser(u).key);
}

export function controlRouter(getStore: () => JiraDcStore): Router {
  const r = new Router();
  r.on('GET', '/users', (req) => {
    const store = getStore();
    const username = req.query.get('username');
    if (username !== null) {
      const u = store.getByName(username);
      return u ? { status: 200, body: inspectUser(store, u) } : { status: 404, body: { error: `no user ${username}` } };
    }
    return { status: 200, body: [...store.allUsers()].map((u) => inspectUser(store, u)) };
  });
  r.on('GET', '/users/:key', (req) => {
    const store = getStore();
    const u = store.getByKey(req.params.key!);
    return u ? { status: 200, body: inspectUser(store, u) } : { status: 404, body: { error: `no user with key ${req.params.key}` } };
  });
  r.on('POST', '/users', (req) => {
    const body = (req.body ?? {}) as { users?: SeedUser[] };
    try {
      return { status: 201, body: { keys: seed(getStore(), body.users ?? []) } };
    } catch (e) {
      return { status: 400, body: { error: (e as Error).message } };
    }
  });
  r.on('GET', '/groups', () => {
    const store = getStore();
    return { status: 200, body: store.allGroups().sort().map((name) => ({ name, members: store.members(name).length })) };
  });
  r.on('POST', '/groups', (req) => {
    seed(getStore(), [], ((req.body ?? {}) as { names?: string[] }).names ?? []);
    return { status: 204 };
  });
  return r;
}
