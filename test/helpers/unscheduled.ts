// A connector whose schedule never fires while a test runs. The demo connector runs a full sync at
// the top of every hour and an incremental one every minute; a test that counts or reads the runs
// it started must not meet one of those (a suite that ran across 20:00 once saw the scheduled full
// sync create the user its single-user sync was to create). The cron and interval stay as they
// were, so the form still shows them; only `enabled` is off.
import type { ConnectorConfig } from '../../src/config/schema.ts';

export function unscheduled<T extends Pick<ConnectorConfig, 'schedule'>>(connector: T): T {
  if (connector.schedule) connector.schedule = { ...connector.schedule, enabled: false, incremental: false };
  return connector;
}
