// Test plumbing shared by the Google source tests: sources configured against a Google
// emulator (the service account's JSON key from an environment variable, fast retries),
// closed together at the end.
import type { GoogleEmulator } from '../../../emulators/google/index.ts';
import type { RecordedRequest } from '../../core/http.ts';
import { definition, GoogleSource } from './index.ts';

export interface EmulatedGoogleSources {
  source(overrides?: Record<string, unknown>, recorder?: (r: RecordedRequest) => void): GoogleSource;
  closeAll(): Promise<void>;
}

export function emulatedGoogleSources(emulator: () => GoogleEmulator, keyEnv: string): EmulatedGoogleSources {
  const open: GoogleSource[] = [];
  return {
    source(overrides = {}, recorder) {
      const emu = emulator();
      process.env[keyEnv] = JSON.stringify(emu.keyFile());
      const config = definition.configSchema.parse({
        type: 'google',
        serviceAccountKey: { env: keyEnv },
        subject: emu.admin,
        apiUrl: emu.url,
        ...overrides,
      });
      const s = definition.create(config, { ca: emu.ca, fastRetries: true, recorder }) as GoogleSource;
      open.push(s);
      return s;
    },
    async closeAll() {
      await Promise.all(open.splice(0).map((s) => s.close()));
    },
  };
}
