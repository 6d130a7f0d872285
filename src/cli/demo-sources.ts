// The identity providers `idsync demo --source` can sync from, one table: each starts its
// server with the demo's company and says how the demo connector reads it. Entra ID is the
// emulated tenant every demo starts anyway; the others are started beside it.
import type { SuiteInfo, Suite } from '../../emulators/launch.ts';
import { generateOrg } from '../../emulators/org/index.ts';
import type { ConnectorConfig } from '../config/schema.ts';

export const DEMO_SOURCES = ['entra', 'ldap', 'okta', 'google', 'keycloak', 'onelogin'] as const;
export type DemoSourceType = (typeof DEMO_SOURCES)[number];

export interface DemoSource {
  /** What the demo starts, for its first line ("an emulated Okta org"). */
  what: string;
  /** Where it listens and how to log in, printed with the emulators. */
  lines: string[];
  /** The demo connector, reading this provider instead of Entra ID. */
  connector(info: SuiteInfo): ConnectorConfig;
  /** Stored secrets the connector refers to. */
  secrets: Record<string, string>;
  close(): Promise<void>;
}

export const DEMO_SOURCE_WHAT: Record<DemoSourceType, string> = {
  entra: 'an emulated Entra ID tenant',
  ldap: 'an OpenLDAP directory (slapd)',
  okta: 'an emulated Okta org',
  google: 'an emulated Google Workspace',
  keycloak: 'an emulated Keycloak realm',
  onelogin: 'an emulated OneLogin account',
};

/** Starts the provider the demo reads (nothing for Entra ID: the suite's own tenant). */
export async function startDemoSource(type: DemoSourceType, users: number, suite: Suite): Promise<DemoSource | undefined> {
  const what = DEMO_SOURCE_WHAT[type];
  switch (type) {
    case 'entra':
      return undefined;
    case 'ldap': {
      const [{ startSlapd }, { demoLdapConnector }] = await Promise.all([import('../../emulators/ldap/slapd.ts'), import('./demo.ts')]);
      const slapd = await startSlapd(generateOrg({ users, seed: 7 }));
      return {
        what,
        lines: [`  OpenLDAP (slapd)  ${slapd.ldapsUrl}   bind ${slapd.reader.dn} / ${slapd.reader.password}, users in ${slapd.layout.peopleDn}`],
        connector: (info) => demoLdapConnector(info, slapd),
        secrets: { 'source.bindPassword': slapd.reader.password },
        close: () => slapd.stop(),
      };
    }
    case 'okta': {
      const { startOktaDemo, oktaConnector } = await import('./demo-okta.ts');
      const okta = await startOktaDemo(suite.graph.directory.org);
      return { what, lines: okta.lines, connector: (info) => oktaConnector(info, okta), secrets: okta.secrets, close: () => okta.emulator.close() };
    }
    case 'google': {
      const { startGoogleDemo, googleConnector } = await import('./demo-google.ts');
      const google = await startGoogleDemo(users);
      return { what, lines: google.lines, connector: (info) => googleConnector(info, google), secrets: google.secrets, close: () => google.emulator.close() };
    }
    case 'keycloak': {
      const { startKeycloakDemo, keycloakConnector } = await import('./demo-keycloak.ts');
      const kc = await startKeycloakDemo(generateOrg({ users, seed: 7 }));
      return { what, lines: kc.lines, connector: (info) => keycloakConnector(info, kc), secrets: kc.secrets, close: () => kc.emulator.close() };
    }
    case 'onelogin': {
      const { startOneLoginDemo, oneLoginConnector } = await import('./demo-onelogin.ts');
      const ol = await startOneLoginDemo(generateOrg({ users, seed: 7 }));
      return { what, lines: ol.lines, connector: (info) => oneLoginConnector(info, ol), secrets: ol.secrets, close: () => ol.emulator.close() };
    }
  }
}
