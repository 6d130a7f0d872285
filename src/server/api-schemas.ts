// Answer shapes shared by several route modules (documentation in the OpenAPI document).
import { z } from 'zod';
import { RUN_KINDS } from '../core/types.ts';

export const countsOut = z.object({
  read: z.number(), created: z.number(), updated: z.number(), unchanged: z.number(),
  failed: z.number(), skipped: z.number(), missing: z.number(), usersWritten: z.number().describe('users written, per target: one per user and target to which a change was sent (not HTTP requests)'), writes: z.number().describe('deprecated: the old name of usersWritten, same value'),
  disabled: z.number().optional().describe('cleanup: accounts disabled (or their product access removed)'),
  deleted: z.number().optional().describe('cleanup: accounts deleted'),
  anonymised: z.number().optional().describe('cleanup: accounts anonymised'),
  quarantined: z.number().optional().describe('cleanup: users whose cleanup is held in a quarantine'),
  unchangedUnlisted: z.number().optional().describe('of unchanged: users a full sync (or a replay) found unchanged and linked as before, counted but not listed among its items'),
});

export const runOut = z.object({
  id: z.string(), connectorId: z.string(), kind: z.enum(RUN_KINDS), dryRun: z.boolean(), reconcile: z.boolean(), trigger: z.string(),
  status: z.enum(['running', 'succeeded', 'failed', 'partial']), userRef: z.string().nullable(), startedAt: z.string(), finishedAt: z.string().nullable(),
  counts: countsOut, error: z.string().nullable(),
  /** What the run says beside its status, e.g. that an expired checkpoint made it read in full. */
  notice: z.string().nullable().optional(),
  /** Set when the run held its cleanup back for an administrator (see /api/v1/quarantines). */
  quarantine: z.object({ id: z.string(), reason: z.string(), message: z.string(), affected: z.number() }).nullable().optional(),
});
