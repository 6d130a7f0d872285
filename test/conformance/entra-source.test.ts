// The Entra ID source against the Graph emulator, through the shared source conformance suite.
import { runSourceConformance } from './source-suite.ts';
import { entraFixture } from './entra-fixture.ts';

runSourceConformance('entra', entraFixture);
