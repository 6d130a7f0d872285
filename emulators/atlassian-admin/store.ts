// In-memory state of the Atlassian Cloud organisation emulator: one organisation whose
// accounts are either managed (the org verified their email domain: profile and lifecycle can
// be changed) or unmanaged (external people: visible in the directory, not changeable).
// Account ids follow the Jira Cloud emulator's scheme, so the same person has the same id in both.
import { stableUuid } from '../jira-cloud/store.ts';

export interface AdminAccount {
  account_id: string;
  account_type: 'atlassian' | 'app' | 'customer';
  account_status: 'active' | 'inactive' | 'closed';
  name: string;
  nickname: string;
  email: string;
  zoneinfo: string | null;
  locale: string | null;
  extended_profile: { job_title?: string; organization?: string; department?: string; location?: string };
  /** Whether the organisation manages this account (claimed domain). */
  managed: boolean;
  /** Message given when the account was deactivated. */
  deactivationMessage?: string;
  /**
   * Provisioned by an external directory (SCIM): the organisation's user-management API may not
   * delete it (the `lifecycle.delete` privilege is refused with reason `externalDirectory.scim`).
   */
  scim: boolean;
  /** Set when the account was deleted: it is `closed` for a 14-day grace period, then gone. */
  deletedAt?: string;
}

export interface SeedAdminAccount {
  email: string;
  name: string;
  managed?: boolean;
  active?: boolean;
  nickname?: string;
  extended_profile?: AdminAccount['extended_profile'];
  scim?: boolean;
}

export interface AdminSeed {
  orgId: string;
  orgName: string;
  accounts: SeedAdminAccount[];
}

export const accountIdFor = (email: string) => `712020:${stableUuid(`account:${email}`)}`;

export function defaultAdminSeed(): AdminSeed {
  return {
    orgId: 'c1d2e3f4-0000-4000-a000-00000000org1',
    orgName: 'Example Org',
    accounts: [
      { email: 'admin@example.com', name: 'Site Admin', managed: true },
      { email: 'ada@example.com', name: 'Ada Lovelace', managed: true, extended_profile: { job_title: 'Analyst', department: 'Engineering' } },
      { email: 'grace@example.com', name: 'Grace Hopper', managed: true },
      { email: 'zoe@example.com', name: 'Zoë Ørsted-Łukasz', managed: true },
      { email: 'gone@example.com', name: 'Former Employee', managed: true, active: false },
      // An external collaborator: in the directory, but their domain belongs to someone else.
      { email: 'partner@partner.example.net', name: 'Pat Partner', managed: false },
    ],
  };
}

export class AdminStore {
  readonly orgId: string;
  readonly orgName: string;
  readonly accounts = new Map<string, AdminAccount>();

  constructor(seed: AdminSeed = defaultAdminSeed()) {
    this.orgId = seed.orgId;
    this.orgName = seed.orgName;
    for (const a of seed.accounts) this.add(a);
  }

  add(a: SeedAdminAccount): AdminAccount {
    const account: AdminAccount = {
      account_id: accountIdFor(a.email),
      account_type: 'atlassian',
      account_status: a.active === false ? 'inactive' : 'active',
      name: a.name,
      nickname: a.nickname ?? a.name.split(/\s+/)[0]!,
      email: a.email,
      zoneinfo: 'Europe/Berlin',
      locale: 'en-US',
      extended_profile: { ...a.extended_profile },
      managed: a.managed ?? true,
      scim: a.scim ?? false,
    };
    this.accounts.set(account.account_id, account);
    return account;
  }

  /** Stable order for cursor paging. */
  ordered(): AdminAccount[] {
    return [...this.accounts.values()].sort((a, b) => a.account_id.localeCompare(b.account_id));
  }

  /**
   * Domains the organisation verified: those of its managed accounts' e-mails. A managed
   * account's e-mail may only be set to an address on one of them.
   */
  verifiedDomains(): Set<string> {
    const out = new Set<string>();
    for (const a of this.accounts.values()) if (a.managed) out.add(a.email.slice(a.email.lastIndexOf('@') + 1).toLowerCase());
    return out;
  }

  byEmail(email: string): AdminAccount | undefined {
    const e = email.toLowerCase();
    return [...this.accounts.values()].find((a) => a.email.toLowerCase() === e);
  }
}
