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

/**
 * One match key. `username` / `email`: the value the mapping gives `user.username` /
 * `user.email`. `{ username: <attr> }` / `{ email: <attr> }` / `{ key: <attr> }`: the value of a
 * source attribute, looked up as a username, an e-mail or the target's user key (account id).
 */
export const matchKeySchema = z.union([
  z.enum(['username', 'email']),
  z.object({ username: sourcePath }).strict(),
  z.object({ email: sourcePath }).strict(),
  z.object({ key: sourcePath }).strict(),
]);

export const matchingSchema = z
  .object({
    /**
     * The keys tried, in this order, for a user with no link; `never` links no existing account
     * (every first-contact user is created). Default: `[username, email]`, as idsync always did
     * (a target without usernames uses `email` alone).
     */
    by: z.union([z.literal('never'), z.array(matchKeySchema).min(1, 'give at least one match key, or never')]).optional(),
  })
  .strict();

export type MatchKeyConfig = z.infer<typeof matchKeySchema>;
export type MatchingConfig = z.infer<typeof matchingSchema>;
