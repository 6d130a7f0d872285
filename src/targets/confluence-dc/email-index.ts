// Finding a Confluence DC user by email. Confluence has no REST search by email, and its user
// entity shows the address only under the `details.personal` expansion, so the first email
// lookup of a connector reads the whole user list once (200 users a request) and keeps an
// index; later lookups, and users this connector creates, cost nothing more. A connector lives
// for one run, so the index never outlives the run that built it.
import type { TargetUserRef } from '../../core/types.ts';
import type { ConfluenceDcApi } from './api.ts';

type Entry = { userKey: string; username: string };

export class EmailIndex {
  private index: Map<string, Entry[]> | undefined;
  private building: Promise<Map<string, Entry[]>> | undefined;
  /** userKey → the lower-case e-mail it is indexed under, so a changed address moves. */
  private readonly emailOf = new Map<string, string>();

  constructor(private readonly api: ConfluenceDcApi) {}

  async lookup(email: string): Promise<Entry[]> {
    const index = this.index ?? (await (this.building ??= this.build()));
    return index.get(email.toLowerCase()) ?? [];
  }

  /** Records a user created during this run, so a later lookup finds it without a new scan. */
  remember(email: string, ref: TargetUserRef): void {
    if (!this.index || !email) return;
    this.forget(ref.key);
    const key = email.toLowerCase();
    const list = this.index.get(key) ?? [];
    list.push({ userKey: ref.key, username: ref.username ?? '' });
    this.index.set(key, list);
    this.emailOf.set(ref.key, key);
  }

  /** Drops a user (deleted, or about to be remembered under a new e-mail: renames, anonymising). */
  forget(userKey: string): void {
    const key = this.emailOf.get(userKey);
    if (key === undefined || !this.index) return;
    const rest = (this.index.get(key) ?? []).filter((e) => e.userKey !== userKey);
    if (rest.length) this.index.set(key, rest);
    else this.index.delete(key);
    this.emailOf.delete(userKey);
  }

  private async build(): Promise<Map<string, Entry[]>> {
    try {
      const index = new Map<string, Entry[]>();
      for await (const page of this.api.listUsers('status,details.personal')) {
        for (const u of page) {
          const email = u.details?.personal?.email;
          if (!email) continue;
          const key = email.toLowerCase();
          const list = index.get(key) ?? [];
          list.push({ userKey: u.userKey, username: u.username });
          index.set(key, list);
          this.emailOf.set(u.userKey, key);
        }
      }
      this.index = index;
      return index;
    } finally {
      this.building = undefined;
    }
  }
}
