// Test plumbing shared by the Okta source tests: sources configured against an Okta emulator
// (API token from an environment variable, fast retries), closed together at the end.
import { DEFAULT_OKTA_TOKENS, type OktaEmulator } from '../../../emulators/okta/index.ts';
import type { RecordedRequest } from '../../core/http.ts';
import { definition, OktaSource } from './index.ts';

export interface EmulatedOktaSources {
  source(overrides?: Record<string, unknown>, recorder?: (r: RecordedRequest) => void): OktaSource;
  closeAll(): Promise<void>;
}

export function emulatedOktaSources(emulator: () => OktaEmulator, tokenEnv: string): EmulatedOktaSources {
  const open: OktaSource[] = [];
  return {
    source(overrides = {}, recorder) {
      const emu = emulator();
      process.env[tokenEnv] ??= DEFAULT_OKTA_TOKENS.readOnlyAdmin;
      const config = definition.configSchema.parse({ type: 'okta', orgUrl: emu.url, apiToken: { env: tokenEnv }, ...overrides });
      const s = definition.create(config, { ca: emu.ca, fastRetries: true, recorder }) as OktaSource;
      open.push(s);
      return s;
    },
    async closeAll() {
      await Promise.all(open.splice(0).map((s) => s.close()));
    },
  };
}
