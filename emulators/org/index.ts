// Seeded sample organisations shared by the emulators, tests, benchmarks and the demo.
export { generateOrg, GUILD_COUNT, MANY_GROUPS_USER_INDEX, emptyExtensionAttributes, type GenerateOptions } from './generate.ts';
export { mutateOrg, type MutateOptions, type MutationResult } from './mutate.ts';
export type * from './types.ts';
