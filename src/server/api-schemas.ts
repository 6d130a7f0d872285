// Answer shapes shared by several route modules (documentation in the OpenAPI document).
import { z } from 'zod';

export const countsOut = z.object({
  read: z.number(), created: z.number(), updated: z.number(), unchanged: z.number(),
  failed: z.number(), skipped: z.number(), missing: z.number(), writes: z.number().describe('HTTP write requests sent to targets'),
});

export const runOut = z.object({
  id: z.string(), connectorId: z.string(), kind: z.enum(['full', 'user']), dryRun: z.boolean(), reconcile: z.boolean(), trigger: z.string(),
  status: z.enum(['running', 'succeeded', 'failed', 'partial']), userRef: z.string().nullable(), startedAt: z.string(), finishedAt: z.string().nullable(),
  counts: countsOut, error: z.string().nullable(),
});
