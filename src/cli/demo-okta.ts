// The Okta side of `idsync demo --source okta`: an emulated Okta org serving the demo's
// company (the same seeded organisation as the Entra tenant), and a connector source and
// mapping for it. Kept apart from demo.ts so each source's demo is one small module.
import { DEFAULT_OKTA_TOKENS, startOktaEmulator, type OktaEmulator } from '../../emulators/okta/index.ts';
import type { Org } from '../../emulators/org/types.ts';
import type { MappingRule } from '../core/types.ts';
import type { ConnectorConfig } from '../config/schema.ts';
import type { SuiteInfo } from '../../emulators/launch.ts';
import { demoConnectorReading } from './demo.ts';
import { accountRules, rule } from './demo-mapping.ts';

export interface OktaDemo {
  emulator: OktaEmulator;
  /** The connector's `source`, with the API token as a stored secret. */
  source: Record<string, unknown>;
  secrets: Record<string, string>;
  lines: string[];
}

export async function startOktaDemo(org: Org): Promise<OktaDemo> {
  const emulator = await startOktaEmulator({ org });
  return {
    emulator,
    source: { type: 'okta', orgUrl: emulator.url, apiToken: { stored: 'source.apiToken' }, requiredGroups: [] },
    secrets: { 'source.apiToken': DEFAULT_OKTA_TOKENS.readOnlyAdmin },
    lines: [
      `  Okta              ${emulator.url}   API token (read-only admin) ${DEFAULT_OKTA_TOKENS.readOnlyAdmin}`,
      `                    (Okta management API /api/v1; self-signed TLS that only the demo trusts)`,
    ],
  };
}

const OKTA_ACCOUNT = { username: '$lower($stripDomain($guestToMail(login)))', displayName: 'displayName', email: '$guestToMail(email)', active: 'active' };

/** The demo's Jira mapping, in Okta's attribute names (login, email, title, the custom officeLocation). */
export function oktaJiraMapping(): MappingRule[] {
  return [
    ...accountRules(OKTA_ACCOUNT, 'jira-users'),
    rule('property.department', 'department'),
    rule('property.jobTitle', 'title'),
    rule('property.mobilePhone', 'mobilePhone'),
    rule('property.officeLocation', 'officeLocation'),
    rule('property.employeeId', 'employeeNumber'),
    rule('property.costCenter', 'costCenter'),
    rule('property.managerEmail', 'manager.email'),
    rule('property.managerUsername', 'manager.targetUsername'),
  ];
}

export function oktaConfluenceMapping(): MappingRule[] {
  return [
    ...accountRules(OKTA_ACCOUNT, 'confluence-users'),
    rule('confluence.profile.phone', '$firstNonEmpty(mobilePhone, primaryPhone)'),
    rule('confluence.profile.position', 'title'),
    rule('confluence.profile.department', 'department'),
    rule('confluence.profile.location', 'officeLocation'),
  ];
}

/** The demo connector reading the Okta emulator instead of Entra ID, with the mapping in Okta's attribute names. */
export function oktaConnector(info: SuiteInfo, demo: OktaDemo): ConnectorConfig {
  return demoConnectorReading(info, { id: 'contoso-okta', name: 'Contoso (emulated Okta)', source: demo.source, jira: oktaJiraMapping(), confluence: oktaConfluenceMapping() });
}
