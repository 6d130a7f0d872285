// How a target finds the account of a source user it has no link for yet ("first contact").
// Once linked, a user is always found through the link (the provider's immutable id to the
// target's immutable key), so renames never go through here. See src/engine/matching.ts.
import { z } from 'zod';
import { parsePlainPath } from '../mapping/paths.ts';

/** What a target can look an account up by: its username, its e-mail, or its immutable key. */
export const MATCH_LOOKUPS = ['username', 'email', 'key'] as const;
export type MatchLookup = (typeof MATCH_LOOKUPS)[number];

const sourcePath = z
  .string()
  .min(1)
  .refine((s) => parsePlainPath(s) !== null, 'give a source attribute path such as onPremisesSamAccountName (no expression)');

const KEY_FORMS = 'username, email, {username: <source attribute>}, {email: <source attribute>} or {key: <source attribute>}';

/**
 * One match key. `username` / `email`: the value the mapping gives `user.username` /
 * `user.email`. `{ username: <attr> }` / `{ email: <attr> }` / `{ key: <attr> }`: the value of a
 * source attribute, looked up as a username, an e-mail or the target's user key (account id).
 */
export const matchKeySchema = z.union(
  [
    z.enum(['username', 'email']),
    z.object({ username: sourcePath }).strict(),
    z.object({ email: sourcePath }).strict(),
    z.object({ key: sourcePath }).strict(),
  ],
  { error: (iss) => keyProblem(iss.input) },
);

/** A value as typed, cut short: the message must stay readable whatever was pasted. */
const shown = (v: unknown) => {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** What is wrong with a match key, in words (zod's own "Invalid input" says nothing). */
function keyProblem(k: unknown): string {
  if (k !== null && typeof k === 'object' && !Array.isArray(k)) {
    const entries = Object.entries(k);
    const [name, value] = entries[0] ?? [];
    if (entries.length === 1 && (name === 'username' || name === 'email' || name === 'key')) {
      return `${name}: ${shown(value)} is not a source attribute path; give one such as onPremisesSamAccountName (no expression)`;
    }
  }
  return `${shown(k)} is not a match key; use ${KEY_FORMS}`;
}

export const matchingSchema = z
  .object({
    /**
     * The keys tried, in this order, for a user with no link; `never` links no existing account
     * (every first-contact user is created). Default: `[username, email]`, as idsync always did
     * (a target without usernames uses `email` alone).
     */
    by: z
      .union([z.literal('never'), z.array(matchKeySchema).min(1, 'give at least one match key, or never')], {
        error: (iss) => {
          const v = iss.input;
          if (!Array.isArray(v)) return `give a list of match keys (${KEY_FORMS}), e.g. [username, email], or never`;
          if (v.length === 0) return 'give at least one match key, or never';
          const i = v.findIndex((k) => !matchKeySchema.safeParse(k).success);
          return i >= 0 ? `match key ${i + 1}: ${keyProblem(v[i])}` : 'give a list of match keys, or never';
        },
      })
      .optional(),
  })
  .strict();

export type MatchKeyConfig = z.infer<typeof matchKeySchema>;
export type MatchingConfig = z.infer<typeof matchingSchema>;
