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

  constructor(private readonly api: ConfluenceDcApi) {}

  async lookup(email: string): Promise<Entry[]> {
    const index = this.index ?? (await (this.building ??= this.build()));
    return index.get(email.toLowerCase()) ?? [];
  }

  /** Records a user created during this run, so a later lookup finds it without a new scan. */
  remember(email: string, ref: TargetUserRef): void {
    if (!this.index || !email) return;
    const key = email.toLowerCase();
    const list = this.index.get(key) ?? [];
    list.push({ userKey: ref.key, username: ref.username ?? '' });
    this.index.set(key, list);
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
        }
      }
      this.index = index;
      return index;
    } finally {
      this.building = undefined;
    }
  }
}
