// The group rules of a target: which of the source's groups reach the target, under which
// name, and which groups every synced user gets. The shape only; what the rules mean is in
// src/mapping/group-rules.ts, their checks (patterns, renames, names) in
// src/mapping/group-rules-validate.ts. README "Group rules" explains them for administrators.
import { z } from 'zod';
import './unknown-keys.ts'; // unknown keys are refused with the nearest known one named

/**
 * A group name or glob (`*` any text, `?` one character; anything else literal), or a regular
 * expression as `{ regex: "..." }`. Matching ignores case, as Jira and Confluence do.
 */
export const groupPatternSchema = z.union([
  z.string().min(1, 'give a group name or a pattern such as "jira-*"'),
  z.object({ regex: z.string().min(1, 'give a regular expression, e.g. "^team-(.+)$"') }).strict(),
]);

/**
 * The target's name for an included group: a template (`$1`..`$9` the pattern's captures, each
 * `*`/`?` of a glob or each (...) of a regex; `$0` the whole source name; `$$` a dollar sign),
 * or a JSONata expression over `{ name, captures }`, time-bounded like the mapping's.
 */
export const groupRenameSchema = z.union([
  z.string(),
  z.object({ expression: z.string().min(1, 'give a JSONata expression, e.g. "$lowercase(name)"') }).strict(),
]);

export const groupRuleSchema = z
  .object({
    include: groupPatternSchema.optional(),
    exclude: groupPatternSchema.optional(),
    rename: groupRenameSchema.optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if ((r.include === undefined) === (r.exclude === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a group rule has exactly one of include or exclude', path: [] });
    }
    if (r.rename !== undefined && r.exclude !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'an excluded group is not synced, so it cannot be renamed; put the rename on an include rule', path: ['rename'] });
    }
  });

export const groupRulesSchema = z
  .object({
    /** In order; the first rule whose pattern matches a group decides it. */
    rules: z.array(groupRuleSchema).default([]),
    /**
     * What happens to a group no rule matches. Unset: dropped, unless the target has a `groups`
     * mapping rule (its groups were chosen already, so they pass unless a rule excludes them).
     */
    dropUnmatched: z.boolean().optional(),
    /** Groups every synced user of this target gets, e.g. jira-software-users. */
    defaultGroups: z.array(z.string()).default([]),
  })
  .strict();

export type GroupPattern = z.infer<typeof groupPatternSchema>;
export type GroupRename = z.infer<typeof groupRenameSchema>;
export type GroupRule = z.infer<typeof groupRuleSchema>;
export type GroupRulesConfig = z.infer<typeof groupRulesSchema>;
