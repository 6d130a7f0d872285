// The Okta source against the Okta emulator, through the shared source conformance suite.
import { runSourceConformance } from './source-suite.ts';
import { oktaFixture } from './okta-fixture.ts';

runSourceConformance('okta', () => oktaFixture());
