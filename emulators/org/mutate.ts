// Deterministic changes to a generated org, for incremental-sync tests and benchmarks:
// the same (org, fraction, seed) always touches the same users in the same way.
import type { Org } from './types.ts';
import { DEPARTMENTS, OFFICES } from './data.ts';
import { Random, mix } from './random.ts';

export interface MutateOptions {
  /** Share of users to change, 0..1. */
  fraction: number;
  seed?: number;
}

export interface MutationResult {
  /** Ids of the users changed, in the order they were changed. */
  changedIds: string[];
}

/**
 * Changes jobTitle and mobilePhone of a fraction of members (guests have neither), and the
 * department (with the cost centre in extensionAttribute3) of about a third of them. Group
 * memberships are left as they are.
 */
export function mutateOrg(org: Org, opts: MutateOptions): MutationResult {
  const candidates = org.users.length;
  const wanted = Math.min(candidates, Math.round(Math.max(0, Math.min(1, opts.fraction)) * candidates));
  const r = new Random(mix(org.seed, opts.seed ?? 1, 0xc4a9e));
  const picked = pickDistinct(r, candidates, wanted);
  const changedIds: string[] = [];
  for (const index of picked) {
    const user = org.users[index]!;
    const dept = DEPARTMENTS.find((d) => d.name === user.department);
    const title = dept ? r.pick(dept.titles) : 'Consultant';
    user.jobTitle = title === user.jobTitle ? `Senior ${title}` : title;
    user.mobilePhone = r.pick(OFFICES).phone(r.digits(9));
    if (dept && r.chance(0.33)) {
      const next = DEPARTMENTS[(DEPARTMENTS.indexOf(dept) + 1 + r.int(DEPARTMENTS.length - 1)) % DEPARTMENTS.length]!;
      user.department = next.name;
      user.onPremisesExtensionAttributes.extensionAttribute3 = `CC-${next.code}-${100 + DEPARTMENTS.indexOf(next) * 10}`;
    }
    changedIds.push(user.id);
  }
  return { changedIds };
}

/** `k` distinct indices below `n`: partial Fisher–Yates when dense, rejection sampling when sparse. */
function pickDistinct(r: Random, n: number, k: number): number[] {
  if (k * 4 > n) {
    const all = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + r.int(n - i);
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    return all.slice(0, k);
  }
  const seen = new Set<number>();
  const out: number[] = [];
  while (out.length < k) {
    const i = r.int(n);
    if (!seen.has(i)) {
      seen.add(i);
      out.push(i);
    }
  }
  return out;
}
