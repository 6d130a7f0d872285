// Test plumbing shared by the Entra source tests: sources configured against a Graph emulator
// (client secret from an environment variable, fast retries), closed together at the end.
import { DEFAULT_GRAPH_CLIENT, type GraphEmulator } from '../../../emulators/graph/index.ts';
import type { RecordedRequest } from '../../core/http.ts';
import { definition, EntraSource } from './index.ts';

export interface EmulatedSources {
  /** A source against the emulator; `overrides` replace settings of the default connector. */
  source(overrides?: Record<string, unknown>, recorder?: (r: RecordedRequest) => void): EntraSource;
  closeAll(): Promise<void>;
}

/** `emulator` is asked each time, so a test file may start its emulator in `before`. */
export function emulatedSources(emulator: () => GraphEmulator, secretEnv: string): EmulatedSources {
  const open: EntraSource[] = [];
  return {
    source(overrides = {}, recorder) {
      const emu = emulator();
      process.env[secretEnv] = DEFAULT_GRAPH_CLIENT.clientSecret;
      const config = definition.configSchema.parse({
        type: 'entra',
        tenantId: emu.tenantId,
        clientId: DEFAULT_GRAPH_CLIENT.clientId,
        clientSecret: { env: secretEnv },
        authorityHost: emu.url,
        graphUrl: emu.url,
        ...overrides,
      });
      const s = definition.create(config, { ca: emu.ca, fastRetries: true, recorder }) as EntraSource;
      open.push(s);
      return s;
    },
    async closeAll() {
      await Promise.all(open.splice(0).map((s) => s.close()));
    },
  };
}
