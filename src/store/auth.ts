// The web server's own tables: administrators and viewers, browser sessions and API tokens.
// Sessions and tokens are stored as SHA-256 hashes of the random value handed out, so a copy
// of the database lets nobody log in. Its tables are created by migration 0002_auth (./migrations.ts).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isUniqueViolation } from './runs.ts';

export type Role = 'administrator' | 'viewer';

export interface UserRecord {
  id: string;
  username: string;
  role: Role;
  createdAt: string;
}

export interface TokenRecord {
  id: string;
  name: string;
  role: Role;
  userId: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface SessionRecord {
  user: UserRecord;
  csrf: string;
  expiresAt: string;
}

interface AuthTables {
  auth_users: { id: string; username: string; password_hash: string; role: string; created_at: string };
  auth_sessions: { id_hash: string; user_id: string; csrf: string; created_at: string; expires_at: string };
  auth_tokens: {
    id: string;
    name: string;
    user_id: string;
    role: string;
    secret_hash: string;
    created_at: string;
    last_used_at: string | null;
    revoked_at: string | null;
  };
  /** One row once the first administrator exists (migration 0006_server_setup_claim). */
  auth_setup: { step: string; user_id: string; created_at: string };
  /** Per-connector scheduler bookkeeping (the slot last run), kept apart from the engine's state. */
  schedule_marks: { connector_id: string; last_slot: string };
}


const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Prefix that makes a leaked token recognisable by secret scanners. */
const TOKEN_PREFIX = 'idsync_';

export class AuthRepo {
  private readonly db: Kysely<AuthTables>;

  constructor(db: Kysely<any>) {
    this.db = db as Kysely<AuthTables>;
  }

  // ------------------------------------------------------------ users

  async countUsers(): Promise<number> {
    const r = await this.db.selectFrom('auth_users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async listUsers(): Promise<UserRecord[]> {
    const rows = await this.db.selectFrom('auth_users').select(['id', 'username', 'role', 'created_at']).orderBy('username').execute();
    return rows.map(userFromRow);
  }

  async getUser(id: string): Promise<UserRecord | undefined> {
    const r = await this.db.selectFrom('auth_users').select(['id', 'username', 'role', 'created_at']).where('id', '=', id).executeTakeFirst();
    return r ? userFromRow(r) : undefined;
  }

  async userWithHash(username: string): Promise<{ user: UserRecord; passwordHash: string } | undefined> {
    const r = await this.db.selectFrom('auth_users').selectAll().where('username', '=', username).executeTakeFirst();
    return r ? { user: userFromRow(r), passwordHash: r.password_hash } : undefined;
  }

  async createUser(username: string, passwordHash: string, role: Role): Promise<UserRecord> {
    const row = { id: randomUUID(), username, password_hash: passwordHash, role, created_at: new Date().toISOString() };
    await this.db.insertInto('auth_users').values(row).execute();
    return userFromRow(row);
  }

  /**
   * Creates the first administrator, or returns undefined when someone else did (a user exists
   * already, or a concurrent set-up won): exactly one of any number of concurrent calls wins,
   * across processes sharing the store too. The claim row's key decides; the count covers stores
   * set up before the claim existed.
   */
  async createFirstAdministrator(username: string, passwordHash: string): Promise<UserRecord | undefined> {
    const row = { id: randomUUID(), username, password_hash: passwordHash, role: 'administrator', created_at: new Date().toISOString() };
    const taken = new Error('set up already');
    try {
      await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('auth_setup').values({ step: 'first-administrator', user_id: row.id, created_at: row.created_at }).execute();
        const { n } = await trx.selectFrom('auth_users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        if (Number(n) > 0) throw taken;
        await trx.insertInto('auth_users').values(row).execute();
      });
      return userFromRow(row);
    } catch (e) {
      if (e === taken || isUniqueViolation(e)) return undefined;
      throw e;
    }
  }

  async updateUser(id: string, patch: { role?: Role; passwordHash?: string }): Promise<void> {
    const set: Partial<AuthTables['auth_users']> = {};
    if (patch.role) set.role = patch.role;
    if (patch.passwordHash) set.password_hash = patch.passwordHash;
    if (Object.keys(set).length) await this.db.updateTable('auth_users').set(set).where('id', '=', id).execute();
    // A changed role or password ends the user's sessions, so the change applies at once.
    await this.db.deleteFrom('auth_sessions').where('user_id', '=', id).execute();
    if (patch.role) await this.db.updateTable('auth_tokens').set({ role: patch.role }).where('user_id', '=', id).where('role', '=', 'administrator').execute();
  }

  async deleteUser(id: string): Promise<boolean> {
    const res = await this.db.deleteFrom('auth_users').where('id', '=', id).executeTakeFirst();
    await this.db.deleteFrom('auth_sessions').where('user_id', '=', id).execute();
    await this.db.deleteFrom('auth_tokens').where('user_id', '=', id).execute();
    return Number(res.numDeletedRows) > 0;
  }

  // ------------------------------------------------------------ sessions

  /** Starts a session; returns the cookie value (only its hash is kept) and the CSRF token. */
  async createSession(userId: string, ttlMs: number): Promise<{ sessionId: string; csrf: string; expiresAt: string }> {
    const sessionId = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    const now = Date.now();
    const expiresAt = new Date(now + ttlMs).toISOString();
    await this.db
      .insertInto('auth_sessions')
      .values({ id_hash: sha256(sessionId), user_id: userId, csrf, created_at: new Date(now).toISOString(), expires_at: expiresAt })
      .execute();
    return { sessionId, csrf, expiresAt };
  }

  async session(sessionId: string): Promise<SessionRecord | undefined> {
    const r = await this.db
      .selectFrom('auth_sessions')
      .innerJoin('auth_users', 'auth_users.id', 'auth_sessions.user_id')
      .select(['auth_users.id', 'auth_users.username', 'auth_users.role', 'auth_users.created_at', 'auth_sessions.csrf', 'auth_sessions.expires_at'])
      .where('auth_sessions.id_hash', '=', sha256(sessionId))
      .executeTakeFirst();
    if (!r) return undefined;
    if (r.expires_at < new Date().toISOString()) {
      await this.deleteSession(sessionId);
      return undefined;
    }
    return { user: userFromRow(r), csrf: r.csrf, expiresAt: r.expires_at };
  }

  async deleteSession(sessionId: string): Promise<void> {
    await this.db.deleteFrom('auth_sessions').where('id_hash', '=', sha256(sessionId)).execute();
  }

  // ------------------------------------------------------------ API tokens

  /** Creates a token; the returned secret is shown once and never stored. */
  async createToken(userId: string, name: string, role: Role): Promise<{ token: TokenRecord; secret: string }> {
    const secret = TOKEN_PREFIX + randomBytes(30).toString('base64url');
    const row = { id: randomUUID(), name, user_id: userId, role, secret_hash: sha256(secret), created_at: new Date().toISOString(), last_used_at: null, revoked_at: null };
    await this.db.insertInto('auth_tokens').values(row).execute();
    return { token: tokenFromRow(row), secret };
  }

  async listTokens(): Promise<TokenRecord[]> {
    const rows = await this.db.selectFrom('auth_tokens').selectAll().orderBy('created_at', 'desc').execute();
    return rows.map(tokenFromRow);
  }

  async revokeToken(id: string): Promise<boolean> {
    const res = await this.db.updateTable('auth_tokens').set({ revoked_at: new Date().toISOString() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** The user and role behind a bearer token, or undefined when unknown or revoked. */
  async tokenPrincipal(secret: string): Promise<{ user: UserRecord; token: TokenRecord } | undefined> {
    if (!secret.startsWith(TOKEN_PREFIX)) return undefined;
    const t = await this.db.selectFrom('auth_tokens').selectAll().where('secret_hash', '=', sha256(secret)).where('revoked_at', 'is', null).executeTakeFirst();
    if (!t) return undefined;
    const user = await this.getUser(t.user_id);
    if (!user) return undefined;
    await this.db.updateTable('auth_tokens').set({ last_used_at: new Date().toISOString() }).where('id', '=', t.id).execute();
    // A token never carries more rights than its owner has now.
    const role: Role = user.role === 'viewer' ? 'viewer' : (t.role as Role);
    return { user: { ...user, role }, token: tokenFromRow(t) };
  }

  // ------------------------------------------------------------ scheduler marks

  async lastSlot(connectorId: string): Promise<string | undefined> {
    const r = await this.db.selectFrom('schedule_marks').select('last_slot').where('connector_id', '=', connectorId).executeTakeFirst();
    return r?.last_slot;
  }

  async markSlot(connectorId: string, slot: string): Promise<void> {
    await this.db.deleteFrom('schedule_marks').where('connector_id', '=', connectorId).execute();
    await this.db.insertInto('schedule_marks').values({ connector_id: connectorId, last_slot: slot }).execute();
  }
}

function userFromRow(r: { id: string; username: string; role: string; created_at: string }): UserRecord {
  return { id: r.id, username: r.username, role: r.role as Role, createdAt: r.created_at };
}

function tokenFromRow(r: AuthTables['auth_tokens']): TokenRecord {
  return { id: r.id, name: r.name, role: r.role as Role, userId: r.user_id, createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at };
}
