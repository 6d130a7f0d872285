// Registry entry of the Confluence Data Center target: settings, secrets and the factory
// that wires the REST client and, when profile fields are on, the web-form client.
import { HttpClient } from '../../core/http.ts';
import { resolveSecret, type Secret } from '../../config/secrets.ts';
import type { ConnectorContext } from '../../sources/registry.ts';
import type { TargetDefinition } from '../registry.ts';
import { confluenceErrorMessage } from './api.ts';
import { capabilitiesWithoutProfile, confluenceDcCapabilities } from './capabilities.ts';
import { confluenceDcConfigSchema, type ConfluenceDcConfig } from './config.ts';
import { ConfluenceDcTarget } from './connector.ts';
import { ConfluenceProfileForm } from './profile-form.ts';

export { confluenceDcConfigSchema, type ConfluenceDcConfig } from './config.ts';
export { ConfluenceDcTarget } from './connector.ts';

export const definition: TargetDefinition<ConfluenceDcConfig> = {
  type: 'confluence-dc',
  label: 'Confluence Data Center',
  configSchema: confluenceDcConfigSchema,
  secretFields: ['auth.token', 'auth.password', 'formLogin.password'],
  capabilities: confluenceDcCapabilities,
  capabilitiesFor(config) {
    const reason = profileUnavailableReason(config);
    return reason ? capabilitiesWithoutProfile(reason) : confluenceDcCapabilities;
  },
  create: createConfluenceDcTarget,
};

/** Why these settings cannot write profile fields, or undefined when they can. */
export function profileUnavailableReason(config: ConfluenceDcConfig): string | undefined {
  if (config.profileFields === 'off') return 'profile fields are turned off for this target (profileFields: off)';
  if (config.auth.type === 'pat' && !config.formLogin) {
    return "writing profile fields needs an administrator's password (the secure administrator session cannot be confirmed with a personal access token); add formLogin {username, password}";
  }
  return undefined;
}

export function createConfluenceDcTarget(config: ConfluenceDcConfig, ctx: ConnectorContext): ConfluenceDcTarget {
  const where = `target ${config.id}`;
  const retry = ctx.fastRetries ? { baseDelayMs: 1, maxDelayMs: 10, maxRetryAfterMs: 5_000 } : undefined;
  let header: string;
  let adminLogin: { username: string; password: Secret } | undefined;
  if (config.auth.type === 'pat') {
    header = `Bearer ${resolveSecret(config.auth.token, `${where}: auth.token`, ctx.storedSecret).reveal()}`;
  } else {
    const password = resolveSecret(config.auth.password, `${where}: auth.password`, ctx.storedSecret);
    header = `Basic ${Buffer.from(`${config.auth.username}:${password.reveal()}`).toString('base64')}`;
    adminLogin = { username: config.auth.username, password };
  }
  if (config.formLogin) {
    adminLogin = { username: config.formLogin.username, password: resolveSecret(config.formLogin.password, `${where}: formLogin.password`, ctx.storedSecret) };
  }

  const rest = new HttpClient({
    service: 'Confluence',
    baseUrl: config.url,
    ca: ctx.ca,
    authHeaders: () => ({ authorization: header }),
    errorMessage: confluenceErrorMessage,
    connections: Math.max(4, config.concurrency * 2),
    recorder: ctx.recorder,
    retry,
  });

  let profileForm: ConfluenceProfileForm | undefined;
  const profileUnavailable = profileUnavailableReason(config);
  let web: HttpClient | undefined;
  if (!profileUnavailable && adminLogin) {
    // A separate client: no REST auth header, and no recorder, because login forms carry the password.
    web = new HttpClient({ service: 'Confluence (profile form)', baseUrl: config.url, ca: ctx.ca, connections: 2, retry });
    profileForm = new ConfluenceProfileForm(web, adminLogin);
  }

  return new ConfluenceDcTarget({
    id: config.id,
    rest,
    profileForm,
    profileUnavailable,
    extraClients: web ? [web] : [],
    newUserPassword: config.newUserPassword,
    matchByEmail: config.matchByEmail,
  });
}
