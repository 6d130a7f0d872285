// `idsync demo --source google`: the demo's company served by the Google Workspace emulator
// (service account with domain-wide delegation), and the connector source and mapping an
// administrator would set up for it. The emulator shares the demo's self-signed certificate.
import { startGoogleEmulator, type GoogleEmulator } from '../../emulators/google/index.ts';
import { generateOrg } from '../../emulators/org/index.ts';
import type { MappingRule } from '../core/types.ts';
import type { ConnectorConfig } from '../config/schema.ts';
import type { SuiteInfo } from '../../emulators/launch.ts';
import { demoConnectorReading, HOURLY_FULL_SYNCS } from './demo.ts';
import { accountRules, rule } from './demo-mapping.ts';

const GOOGLE_ACCOUNT = { username: '$lower($stripDomain(primaryEmail))', displayName: 'fullName', email: 'primaryEmail', active: 'active' };

export interface GoogleDemo {
  emulator: GoogleEmulator;
  source: Record<string, unknown> & { type: 'google'; requiredGroups: string[] };
  secrets: Record<string, string>;
  jiraMapping: MappingRule[];
  confluenceMapping: MappingRule[];
  lines: string[];
}

export async function startGoogleDemo(users: number): Promise<GoogleDemo> {
  const emulator = await startGoogleEmulator({ org: generateOrg({ users, seed: 7 }) });
  const key = emulator.keyFile();
  return {
    emulator,
    source: { type: 'google', serviceAccountKey: { stored: 'source.serviceAccountKey' }, subject: emulator.admin, apiUrl: emulator.url, requiredGroups: [] },
    secrets: { 'source.serviceAccountKey': JSON.stringify(key) },
    jiraMapping: [
      ...accountRules(GOOGLE_ACCOUNT, 'jira-users'),
      rule('property.department', 'department'),
      rule('property.jobTitle', 'title'),
      rule('property.mobilePhone', 'mobilePhone'),
      rule('property.employeeId', 'employeeId'),
      rule('property.costCenter', 'costCenter'),
      rule('property.division', 'customSchemas.Employment.division'),
      rule('property.managerEmail', 'manager.primaryEmail'),
      rule('property.managerUsername', 'manager.targetUsername'),
    ],
    confluenceMapping: [
      ...accountRules(GOOGLE_ACCOUNT, 'confluence-users'),
      rule('confluence.profile.phone', '$firstNonEmpty(mobilePhone, workPhone)'),
      rule('confluence.profile.position', 'title'),
      rule('confluence.profile.department', 'department'),
    ],
    lines: [
      `  Google Workspace  ${emulator.url}   service account ${key.client_email} acting as ${emulator.admin}`,
      `                    (Directory API and token endpoint; the key is stored with the connector)`,
    ],
  };
}

/** The demo connector reading the Google Workspace emulator instead (no change feed: hourly full syncs). */
export function googleConnector(info: SuiteInfo, google: GoogleDemo): ConnectorConfig {
  return demoConnectorReading(info, { id: 'contoso-google', name: 'Contoso (emulated Google Workspace)', source: google.source, jira: google.jiraMapping, confluence: google.confluenceMapping, schedule: HOURLY_FULL_SYNCS });
}
