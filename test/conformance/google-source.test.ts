// The Google Workspace source against the Google emulator, through the shared source conformance suite.
import { runSourceConformance } from './source-suite.ts';
import { googleFixture } from './google-fixture.ts';

runSourceConformance('google', () => googleFixture());
