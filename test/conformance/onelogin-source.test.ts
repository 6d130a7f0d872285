// The OneLogin source against the OneLogin emulator, through the shared source conformance suite.
import { runSourceConformance } from './source-suite.ts';
import { oneLoginFixture } from './onelogin-fixture.ts';

runSourceConformance('onelogin', () => oneLoginFixture());
