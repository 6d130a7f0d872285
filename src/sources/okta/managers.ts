// What the source read of each user's manager, for managers the engine has not seen yet. Okta
// gives only the manager's reference (profile.managerId: an id, or a login or e-mail when so
// configured); on a first run a manager listed on a later page, or outside the search
// expression, would have no attributes at all. The listing remembers the users it read, and a
// manager not among them is read once (GET /api/v1/users/{id|login}, or a search by e-mail).
import type { ManagerRef, SourceUser } from '../../core/types.ts';
import type { OktaApi } from './okta-api.ts';

type Reader = (api: OktaApi, ref: ManagerRef) => Promise<Record<string, unknown> | null>;

const key = (ref: ManagerRef) => ('id' in ref ? `id\u0000${ref.id}` : `${ref.key}\u0000${ref.value.toLowerCase()}`);

export class ManagerAttrs {
  /** Attributes of users read (by id, login and e-mail) and managers read for this listing. */
  private readonly known = new Map<string, Record<string, unknown> | null>();
  reads = 0;

  constructor(private readonly read: Reader) {}

  /** Remembers users read by the listing (their full attributes), under every name a reference may use. */
  note(users: ReadonlyArray<{ user: SourceUser; all: Record<string, unknown> }>): void {
    for (const { user, all } of users) {
      this.known.set(`id\u0000${user.id}`, all);
      if (typeof all.login === 'string') this.known.set(`username\u0000${all.login.toLowerCase()}`, all);
      if (typeof all.email === 'string') this.known.set(`email\u0000${all.email.toLowerCase()}`, all);
    }
  }

  /** Sets `attrs` on each reference, reading the managers not read yet (each once). */
  async attach(api: OktaApi, users: SourceUser[]): Promise<void> {
    for (const u of users) {
      const ref = u.manager;
      if (!ref) continue;
      const k = key(ref);
      if (!this.known.has(k)) {
        this.reads++;
        this.known.set(k, await this.read(api, ref));
      }
      const attrs = this.known.get(k);
      if (attrs) ref.attrs = attrs;
    }
  }
}
