// What the rest of idsync (the CLI's `serve` and `config import|export`) uses from the server.
export { buildServer, startServer, ensureAdminFromEnv, type ServerOptions, type StartOptions, type RunningServer, type IdsyncServer } from './app.ts';
export { exportConfig, importConfig, type ImportResult } from './config-io.ts';
export type { EngineService, MappingService, RegistryService, Services } from './services.ts';
