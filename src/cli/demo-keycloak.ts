// `idsync demo --source keycloak`: the demo's company as a Keycloak realm (the Keycloak
// emulator, sharing the demo's self-signed certificate), read through a confidential client
// whose service account holds realm-management/view-users, and the mapping an administrator
// would write for Keycloak's attribute names (multi-valued `attributes.*[0]`).
import { DEFAULT_KEYCLOAK_CLIENT, startKeycloakEmulator, type KeycloakEmulator } from '../../emulators/keycloak/index.ts';
import type { Org } from '../../emulators/org/types.ts';
import type { MappingRule } from '../core/types.ts';
import type { ConnectorConfig } from '../config/schema.ts';
import type { SuiteInfo } from '../../emulators/launch.ts';
import { demoConnectorReading, HOURLY_FULL_SYNCS } from './demo.ts';
import { accountRules, rule } from './demo-mapping.ts';

export interface KeycloakDemo {
  emulator: KeycloakEmulator;
  source: Record<string, unknown> & { type: 'keycloak'; requiredGroups: string[] };
  secrets: Record<string, string>;
  lines: string[];
}

export async function startKeycloakDemo(org: Org): Promise<KeycloakDemo> {
  const emulator = await startKeycloakEmulator({ org });
  return {
    emulator,
    source: { type: 'keycloak', url: emulator.url, realm: emulator.realmName, clientId: DEFAULT_KEYCLOAK_CLIENT.clientId, clientSecret: { stored: 'source.clientSecret' }, requiredGroups: [] },
    secrets: { 'source.clientSecret': DEFAULT_KEYCLOAK_CLIENT.secret },
    lines: [
      `  Keycloak          ${emulator.url}   realm ${emulator.realmName}, client ${DEFAULT_KEYCLOAK_CLIENT.clientId} / ${DEFAULT_KEYCLOAK_CLIENT.secret}`,
      `                    (admin REST API and the client-credentials token endpoint; self-signed TLS that only the demo trusts)`,
    ],
  };
}

const identity = (groups: string): MappingRule[] =>
  accountRules({ username: '$lower($stripDomain($guestToMail(username)))', displayName: '$join([firstName, lastName], " ")', email: '$firstNonEmpty(email, $guestToMail(username))', active: 'enabled' }, groups);

export function keycloakJiraMapping(): MappingRule[] {
  return [
    ...identity('jira-users'),
    rule('property.department', 'attributes.department[0]'),
    rule('property.jobTitle', 'attributes.jobTitle[0]'),
    rule('property.mobilePhone', 'attributes.mobile[0]'),
    rule('property.officeLocation', 'attributes.officeLocation[0]'),
    rule('property.employeeId', 'attributes.employeeId[0]'),
    rule('property.managerEmail', 'manager.email'),
    rule('property.managerUsername', 'manager.targetUsername'),
  ];
}

export function keycloakConfluenceMapping(): MappingRule[] {
  return [
    ...identity('confluence-users'),
    rule('confluence.profile.phone', '$firstNonEmpty(attributes.mobile[0], attributes.phone[0])'),
    rule('confluence.profile.position', 'attributes.jobTitle[0]'),
    rule('confluence.profile.department', 'attributes.department[0]'),
    rule('confluence.profile.location', 'attributes.officeLocation[0]'),
  ];
}

/** The demo connector reading the Keycloak realm (Keycloak has no change feed: hourly full syncs). */
export function keycloakConnector(info: SuiteInfo, demo: KeycloakDemo): ConnectorConfig {
  return demoConnectorReading(info, { id: 'contoso-keycloak', name: 'Contoso (emulated Keycloak)', source: demo.source, jira: keycloakJiraMapping(), confluence: keycloakConfluenceMapping(), schedule: HOURLY_FULL_SYNCS });
}
