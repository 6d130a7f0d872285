// The checks of a "Test connection": each step runs in turn and leaves one line, its message
// or, when it threw, the error in words (never a credential: errorText says what IdsyncError says).
import { errorText } from './errors.ts';
import type { TestResult } from './types.ts';

export interface Checklist {
  checks: TestResult['checks'];
  /** Runs one check; whether it passed, so later checks that need it can be skipped. */
  run(name: string, fn: () => Promise<string>): Promise<boolean>;
}

/** `explain` turns a thrown error into the one to report (e.g. an LDAP result code into words). */
export function checklist(explain: (e: unknown) => unknown = (e) => e): Checklist {
  const checks: TestResult['checks'] = [];
  return {
    checks,
    async run(name, fn) {
      try {
        checks.push({ name, ok: true, message: await fn() });
        return true;
      } catch (e) {
        checks.push({ name, ok: false, message: errorText(explain(e)) });
        return false;
      }
    },
  };
}
