// Run history and the result browser: runs, their items with paging / filter / search, and
// downloads as JSON or CSV. Also the configuration export / import.
import { Readable } from 'node:stream';
import { z } from 'zod';
import { ITEM_OPERATIONS, type ItemOperation } from '../core/types.ts';
import type { Store } from '../store/index.ts';
import { unlistedOf } from '../store/runs.ts';
import { exportConfig, importConfig } from './config-io.ts';
import { allItems, csvDownload, jsonDownload } from './run-export.ts';
import { runOut } from './api-schemas.ts';
import { HttpError, type ApiRouter } from './routes.ts';
import type { SecretRefPolicy } from './secret-ref-policy.ts';
import type { Services } from './services.ts';

const operations = ITEM_OPERATIONS;
const json = z.any();
const itemOut = z.object({
  seq: z.number(), sourceId: z.string().nullable(), label: z.string().nullable(), targetId: z.string().nullable(), operation: z.enum(operations), error: z.string().nullable(),
  changes: z.array(z.object({ field: z.string(), before: json.optional(), after: json.optional(), add: z.array(z.string()).optional(), remove: z.array(z.string()).optional() })),
  details: z.record(z.string(), json).nullable(),
});

export function runRoutes(api: ApiRouter, deps: { store: Store; services: Services; secretRefs: SecretRefPolicy; onConfigImported?: () => Promise<void> }): void {
  const { store } = deps;

  async function load(id: string) {
    const run = await store.runs.get(id);
    if (!run) throw new HttpError(404, `no run with id "${id}"`);
    return run;
  }

  api.route(
    {
      method: 'GET', path: '/api/v1/runs', tag: 'runs', access: 'viewer', summary: 'Run history, newest first',
      query: z.object({ connectorId: z.string().optional(), limit: z.coerce.number().int().min(1).max(500).default(50), offset: z.coerce.number().int().min(0).default(0) }),
      response: z.object({ runs: z.array(runOut) }),
    },
    async ({ query }) => ({ runs: await store.runs.list(query) }),
  );

  api.route(
    { method: 'GET', path: '/api/v1/runs/:id', tag: 'runs', access: 'viewer', summary: 'One run with its counts', response: z.object({ run: runOut }), errors: { 404: 'no such run' } },
    async ({ params }) => ({ run: await load(params.id!) }),
  );

  api.route(
    {
      method: 'GET', path: '/api/v1/runs/:id/items', tag: 'runs', access: 'viewer', summary: "A run's per-user results: filter by operation (comma-separated) and target, search by user, page",
      query: z.object({
        operation: z.string().optional().transform((s, ctx) => {
          if (!s) return undefined;
          const list = s.split(',').map((x) => x.trim()).filter(Boolean);
          const bad = list.filter((x) => !(operations as readonly string[]).includes(x));
          if (bad.length) ctx.addIssue({ code: 'custom', message: `unknown operation ${bad.join(', ')}; use ${operations.join(', ')}` });
          return list as ItemOperation[];
        }),
        targetId: z.string().optional(),
        search: z.string().max(200).regex(/^\P{Cc}*$/u, 'search must not contain control characters (such as NUL)').optional(),
        offset: z.coerce.number().int().min(0).default(0),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
      response: z.object({
        total: z.number(),
        items: z.array(itemOut),
        unlisted: z.number().describe('unchanged users the filter covers that the run counted but did not list (a full sync lists only what it changed, failed, held or skipped); a search does not reach them'),
      }),
    },
    async ({ params, query }) => {
      const run = await load(params.id!);
      return { ...(await store.runs.items(run.id, query)), unlisted: unlistedOf(run.counts, query) };
    },
  );

  api.route(
    {
      method: 'GET', path: '/api/v1/runs/:id/download', tag: 'runs', access: 'viewer', summary: "Downloads a run's results as JSON or CSV (one line per changed field)",
      query: z.object({ format: z.enum(['json', 'csv']).default('json') }), produces: 'application/json, text/csv',
    },
    async ({ params, query, reply }) => {
      const run = await load(params.id!);
      const pages = allItems((offset, limit) => store.runs.items(run.id, { offset, limit }));
      const name = `idsync-run-${run.connectorId}-${run.id}.${query.format}`;
      reply.header('content-disposition', `attachment; filename="${name}"`);
      reply.type(query.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8');
      return reply.send(Readable.from(query.format === 'csv' ? csvDownload(pages) : jsonDownload(run, pages)));
    },
  );

  api.route(
    { method: 'GET', path: '/api/v1/config/export', tag: 'config', access: 'viewer', summary: 'All connectors as an idsync YAML file (secret references only, never values)', produces: 'application/yaml' },
    async ({ reply }) => {
      reply.type('application/yaml; charset=utf-8');
      reply.header('content-disposition', 'attachment; filename="idsync.yaml"');
      return reply.send(await exportConfig(store));
    },
  );

  api.route(
    {
      method: 'POST', path: '/api/v1/config/import', tag: 'config', access: 'administrator', summary: 'Imports connectors from an idsync YAML file; nothing is saved when any connector is invalid',
      body: z.object({ yaml: z.string().min(1).max(5_000_000) }), response: z.object({ saved: z.array(z.string()), warnings: z.array(json) }),
    },
    async ({ body }) => {
      const result = await importConfig(store, body.yaml, deps.services, { secretRefs: deps.secretRefs });
      await deps.onConfigImported?.();
      return result;
    },
  );
}
