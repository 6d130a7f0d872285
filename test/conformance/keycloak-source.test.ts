// The Keycloak source against the Keycloak emulator, through the shared source conformance suite.
import { runSourceConformance } from './source-suite.ts';
import { keycloakFixture } from './keycloak-fixture.ts';

runSourceConformance('keycloak', () => keycloakFixture());
