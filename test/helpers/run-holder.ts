// A child process for crash tests: starts a real engine run of connector `crashed` on the store
// named by the environment (IDSYNC_DATA_DIR, or IDSYNC_DATABASE_URL with IDSYNC_TEST_PG_SCHEMA)
// and keeps it running forever (its identity provider never answers), printing "claimed <run id>"
// once the run is claimed. The test then SIGKILLs it.
import { z } from 'zod';
import { Store } from '../../src/store/index.ts';
import { SyncEngine } from '../../src/engine/engine.ts';
import { registerSourceType } from '../../src/sources/registry.ts';
import { sourceBaseSchema, type ConnectorConfig } from '../../src/config/schema.ts';

registerSourceType({
  type: 'never-answers',
  label: 'An identity provider that never answers',
  configSchema: sourceBaseSchema.extend({ type: z.literal('never-answers') }),
  secretFields: [],
  knownAttributes: [],
  create: () => ({
    kind: 'never-answers',
    test: async () => ({ ok: true, checks: [] }),
    attributes: async () => [],
    // eslint-disable-next-line require-yield
    async *listUsers() {
      await new Promise(() => undefined);
    },
    getUser: async () => new Promise(() => undefined),
  }),
} as never);

process.env.HOLDER_JIRA_PAT = 'unused';
const connector: ConnectorConfig = {
  id: process.env.HOLDER_CONNECTOR ?? 'crashed',
  source: { type: 'never-answers', requiredGroups: [] },
  targets: [
    {
      id: 'jira', type: 'jira-dc', url: 'http://127.0.0.1:9', auth: { type: 'pat', token: { env: 'HOLDER_JIRA_PAT' } },
      mapping: [{ target: 'user.username', source: 'userPrincipalName', flow: 'always', whenEmpty: 'keep' }], createUsers: true, createMissingGroups: false, concurrency: 1,
    },
  ] as never,
};

const store = await Store.open({ dataDir: process.env.IDSYNC_DATA_DIR, databaseUrl: process.env.IDSYNC_DATABASE_URL, pgSchema: process.env.IDSYNC_TEST_PG_SCHEMA });
setInterval(() => undefined, 60_000); // stays up until killed
void new SyncEngine(store).run({
  connector,
  kind: (process.env.HOLDER_KIND as 'full' | 'user') ?? 'full',
  userRef: 'someone@contoso.test',
  trigger: 'cli',
  onClaimed: (run) => console.log(`claimed ${run.id}`),
});
