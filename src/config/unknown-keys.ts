// One policy for keys nobody reads: every object of the configuration model (a connector, a
// source's and a target's settings, their nested objects, a mapping row) is strict, and a key it
// does not know is refused with the nearest known key named. A `createUser: false` typo that was
// silently ignored left user creation on. Installed as zod's global error customisation, so
// every strict schema gets the same message without repeating it.
import { z } from 'zod';
import { distance } from 'fastest-levenshtein';

/** The known key a mistyped one most likely meant (differs in case, or in a few letters). */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(lower, k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  // One edit in a key of up to 3 letters, two up to 8, three beyond: further away is another word.
  if (bestDistance <= (key.length <= 3 ? 1 : key.length <= 8 ? 2 : 3)) return best;
  // A part of the key's name (`tenant` for tenantId, `secret` for clientSecret).
  return lower.length >= 4 ? known.find((k) => k.toLowerCase().includes(lower)) : undefined;
}

export function unknownKeysMessage(keys: readonly string[], known: readonly string[]): string {
  const each = keys.map((k) => {
    const near = nearestKey(k, known);
    return near ? `"${k}" (did you mean "${near}"?)` : `"${k}"`;
  });
  return `unknown setting${keys.length > 1 ? 's' : ''} ${each.join(', ')}; the settings here are ${known.join(', ')}`;
}

z.config({
  customError(issue) {
    if (issue.code !== 'unrecognized_keys') return undefined;
    const shape = (issue.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape;
    return shape ? unknownKeysMessage(issue.keys, Object.keys(shape)) : undefined;
  },
});
