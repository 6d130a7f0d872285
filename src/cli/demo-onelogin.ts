// `idsync demo --source onelogin`: the demo's company as a OneLogin account (the OneLogin
// emulator, sharing the demo's self-signed certificate), read with a "Read users" API
// credential, roles as groups, and the mapping in OneLogin's attribute names.
import { DEFAULT_ONELOGIN_CREDENTIAL, startOneLoginEmulator, type OneLoginEmulator } from '../../emulators/onelogin/index.ts';
import type { Org } from '../../emulators/org/types.ts';
import type { MappingRule } from '../core/types.ts';
import type { ConnectorConfig } from '../config/schema.ts';
import type { SuiteInfo } from '../../emulators/launch.ts';
import { demoConnectorReading, HOURLY_FULL_SYNCS } from './demo.ts';
import { accountRules, rule } from './demo-mapping.ts';

export interface OneLoginDemo {
  emulator: OneLoginEmulator;
  source: Record<string, unknown> & { type: 'onelogin'; requiredGroups: string[] };
  secrets: Record<string, string>;
  lines: string[];
}

export async function startOneLoginDemo(org: Org): Promise<OneLoginDemo> {
  const emulator = await startOneLoginEmulator({ org });
  return {
    emulator,
    source: { type: 'onelogin', baseUrl: emulator.url, clientId: DEFAULT_ONELOGIN_CREDENTIAL.clientId, clientSecret: { stored: 'source.clientSecret' }, groupSource: 'roles', keepApiCallsPerHour: 500, requiredGroups: [] },
    secrets: { 'source.clientSecret': DEFAULT_ONELOGIN_CREDENTIAL.clientSecret },
    lines: [
      `  OneLogin          ${emulator.url}   API credential ${DEFAULT_ONELOGIN_CREDENTIAL.clientId} / ${DEFAULT_ONELOGIN_CREDENTIAL.clientSecret} (Read users)`,
      `                    (/auth/oauth2/v2/token and /api/2; 5,000 API calls an hour; self-signed TLS that only the demo trusts)`,
    ],
  };
}

const identity = (groups: string): MappingRule[] =>
  accountRules({ username: '$lower($stripDomain($guestToMail(username)))', displayName: 'displayName', email: '$guestToMail(email)', active: 'active' }, groups);

export function oneLoginJiraMapping(): MappingRule[] {
  return [
    ...identity('jira-users'),
    rule('property.department', 'department'),
    rule('property.jobTitle', 'title'),
    rule('property.mobilePhone', 'phone'),
    rule('property.employeeId', 'custom_attributes.employee_id'),
    rule('property.costCenter', 'custom_attributes.cost_center'),
    rule('property.officeLocation', 'custom_attributes.office'),
    rule('property.managerEmail', 'manager.email'),
    rule('property.managerUsername', 'manager.targetUsername'),
  ];
}

export function oneLoginConfluenceMapping(): MappingRule[] {
  return [
    ...identity('confluence-users'),
    rule('confluence.profile.phone', 'phone'),
    rule('confluence.profile.position', 'title'),
    rule('confluence.profile.department', 'department'),
    rule('confluence.profile.location', 'custom_attributes.office'),
  ];
}

/** The demo connector reading the OneLogin account (no change feed: hourly full syncs). */
export function oneLoginConnector(info: SuiteInfo, demo: OneLoginDemo): ConnectorConfig {
  return demoConnectorReading(info, { id: 'contoso-onelogin', name: 'Contoso (emulated OneLogin)', source: demo.source, jira: oneLoginJiraMapping(), confluence: oneLoginConfluenceMapping(), schedule: HOURLY_FULL_SYNCS });
}
