// The Keycloak source against the Keycloak emulator, through the shared source conformance suite:
// with group memberships read as `auto` chooses, and each way forced.
import { runSourceConformance } from './source-suite.ts';
import { keycloakFixture } from './keycloak-fixture.ts';

runSourceConformance('keycloak', () => keycloakFixture());
runSourceConformance('keycloak (memberships per user)', () => keycloakFixture({ membershipStrategy: 'perUser' }));
runSourceConformance('keycloak (memberships per group)', () => keycloakFixture({ membershipStrategy: 'perGroup' }));
