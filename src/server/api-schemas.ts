// Answer shapes shared by several route modules (documentation in the OpenAPI document).
import { z } from 'zod';

export const countsOut = z.object({
  read: z.number(), created: z.number(), updated: z.number(), unchanged: z.number(),
  failed: z.number(), skipped: z.number(), missing: z.number(), usersWritten: z.number().describe('users written, per target: one per user and target to which a change was sent (not HTTP requests)'), writes: z.number().describe('deprecated: the old name of usersWritten, same value'),
});

export const runOut = z.object({
  id: z.string(), connectorId: z.string(), kind: z.enum(['full', 'user', 'incremental', 'push']), dryRun: z.boolean(), reconcile: z.boolean(), trigger: z.string(),
  status: z.enum(['running', 'succeeded', 'failed', 'partial']), userRef: z.string().nullable(), startedAt: z.string(), finishedAt: z.string().nullable(),
  counts: countsOut, error: z.string().nullable(),
  /** What the run says beside its status, e.g. that an expired checkpoint made it read in full. */
  notice: z.string().nullable().optional(),
});
