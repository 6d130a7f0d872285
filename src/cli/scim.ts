// `idsync scim token create|list|revoke <connector>`: the bearer tokens of a SCIM connector's
// endpoint. A new token is printed once (idsync keeps only its hash).
import type { Command } from 'commander';
import { IdsyncError } from '../core/errors.ts';
import { ScimRepo } from '../sources/scim/repo.ts';
import { openStore, type GlobalOptions } from './context.ts';
import { nonEmpty } from './options.ts';
import { printJson } from './output.ts';

export function scimCommands(program: Command, globals: (cmd: Command) => GlobalOptions): void {
  const token = program.command('scim').description('inbound SCIM (Entra ID / Okta provisioning)').command('token').description("a SCIM connector's bearer tokens");

  const withRepo = async <T>(cmd: Command, connectorId: string, f: (repo: ScimRepo) => Promise<T>): Promise<T> => {
    const store = await openStore(globals(cmd));
    try {
      const c = await store.connectors.get(connectorId);
      if (!c) throw new IdsyncError('NOT_FOUND', `no connector ${connectorId} in the store`, { hint: 'create it in the web UI or with `idsync config import`' });
      if (c.config.source.type !== 'scim') throw new IdsyncError('CONFIG', `connector ${connectorId} reads from ${c.config.source.type}, not from inbound SCIM`, { hint: 'SCIM tokens are for connectors whose source type is scim' });
      return await f(new ScimRepo(store.db));
    } finally {
      await store.close();
    }
  };

  token
    .command('create')
    .description('create a token (printed once: enter it as the Secret Token in Entra ID / the API token in Okta)')
    .argument('<connector>', 'connector id', nonEmpty)
    .option('--label <text>', 'what the token is for, e.g. "Entra ID production"')
    .option('--json', 'machine-readable output')
    .action(async (connectorId: string, o: { label?: string; json?: boolean }, cmd: Command) => {
      const { token: secret, info } = await withRepo(cmd, connectorId, (repo) => repo.createToken(connectorId, o.label ?? null));
      if (o.json) return printJson({ token: secret, tokenInfo: info, tenantPath: `/scim/v2/${connectorId}` });
      console.log(`token ${info.id} created; it is shown only now:\n\n  ${secret}\n\nTenant URL: https://<your idsync host>/scim/v2/${connectorId}`);
    });

  token
    .command('list')
    .description('list tokens (never the token itself)')
    .argument('<connector>', 'connector id', nonEmpty)
    .option('--json', 'machine-readable output')
    .action(async (connectorId: string, o: { json?: boolean }, cmd: Command) => {
      const tokens = await withRepo(cmd, connectorId, (repo) => repo.tokens(connectorId));
      if (o.json) return printJson(tokens);
      if (tokens.length === 0) return console.log(`no tokens yet: create one with \`idsync scim token create ${connectorId}\``);
      for (const t of tokens) console.log(`${t.id}  ${t.revokedAt ? `revoked ${t.revokedAt}` : 'live'}  created ${t.createdAt}  last used ${t.lastUsedAt ?? 'never'}  ${t.label ?? ''}`);
    });

  token
    .command('revoke')
    .description('revoke a token: requests with it are refused (401) from now on')
    .argument('<connector>', 'connector id', nonEmpty)
    .argument('<token-id>', 'the id `list` shows', nonEmpty)
    .action(async (connectorId: string, tokenId: string, _o, cmd: Command) => {
      const done = await withRepo(cmd, connectorId, (repo) => repo.revokeToken(connectorId, tokenId));
      if (!done) throw new IdsyncError('NOT_FOUND', `no live token ${tokenId} for connector ${connectorId}`, { hint: `list them with \`idsync scim token list ${connectorId}\`` });
      console.log(`token ${tokenId} revoked`);
    });
}
