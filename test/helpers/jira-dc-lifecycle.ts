// A test double of the Jira DC target with the full cleanup lifecycle (disable, delete,
// anonymise), until the real target declares it (another branch of issue 10 fills
// `capabilities().lifecycle` and implements `deleteUser`). Everything but the deletion is the
// real Jira DC connector writing to the emulator; `deleteUser` sends Jira's own
// DELETE /rest/api/2/user?key= to the emulator. Registered as target type `jira-dc-lifecycle`.
import { z } from 'zod';
import { definition as jiraDc } from '../../src/targets/jira-dc/index.ts';
import { jiraDcConfigSchema, type JiraDcConfig } from '../../src/targets/jira-dc/config.ts';
import { registerTargetType } from '../../src/targets/registry.ts';
import type { LifecycleCapabilities, TargetCapabilities, TargetConnector } from '../../src/core/types.ts';
import { IdsyncError } from '../../src/core/errors.ts';

const lifecycle: LifecycleCapabilities = { disable: true, delete: true, anonymise: true, renameUsername: true, removeAccess: false, reasons: { removeAccess: 'Jira DC disables accounts instead' } };
const capabilities: TargetCapabilities = { ...jiraDc.capabilities, kind: 'jira-dc-lifecycle', lifecycle };

/** Accounts the double deleted, by key (the test checks the emulator too). */
export const deletedKeys: string[] = [];

registerTargetType({
  type: 'jira-dc-lifecycle',
  label: 'Jira Data Center (test double with the full lifecycle)',
  configSchema: z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null).transform((v) => jiraDcConfigSchema.parse({ ...v, type: 'jira-dc' })),
  secretFields: jiraDc.secretFields,
  capabilities,
  create(config: JiraDcConfig, ctx) {
    const inner = jiraDc.create(config, ctx);
    const token = config.auth.type === 'pat' && 'env' in config.auth.token ? process.env[(config.auth.token as { env: string }).env] : undefined;
    const target: TargetConnector = {
      kind: 'jira-dc-lifecycle',
      id: inner.id,
      capabilities: () => capabilities,
      test: () => inner.test(),
      findUser: (keys, fields) => inner.findUser(keys, fields),
      readUser: (ref, fields) => inner.readUser(ref, fields),
      write: (w) => inner.write(w),
      async deleteUser(ref) {
        const res = await fetch(`${config.url}/rest/api/2/user?key=${encodeURIComponent(ref.key)}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
        if (res.status !== 204 && res.status !== 404) throw new IdsyncError('CONFLICT', `Jira answered ${res.status} to the deletion of ${ref.username ?? ref.key}`);
        deletedKeys.push(ref.key);
      },
      close: () => inner.close?.() ?? Promise.resolve(),
    };
    return target;
  },
});
