// The admin API for a SCIM connector's bearer tokens: create (the token is in this one answer
// only; idsync keeps its hash), list (never the token), revoke.
import { z } from 'zod';
import type { Store } from '../../../store/index.ts';
import { HttpError, type ApiRouter } from '../../../server/routes.ts';
import { ScimRepo } from '../repo.ts';

const tokenOut = z.object({ id: z.string(), label: z.string().nullable(), createdAt: z.string(), lastUsedAt: z.string().nullable(), revokedAt: z.string().nullable() });

export function scimAdminRoutes(api: ApiRouter, store: Store): void {
  const repo = new ScimRepo(store.db);
  const scimConnector = async (id: string) => {
    const c = await store.connectors.get(id);
    if (!c) throw new HttpError(404, `no connector with id "${id}"`);
    if (c.config.source.type !== 'scim') throw new HttpError(409, `connector ${id} reads from ${c.config.source.type}, not from inbound SCIM; SCIM tokens are for connectors whose source type is scim`);
    return c;
  };

  api.route(
    {
      method: 'POST', path: '/api/v1/connectors/:id/scim-tokens', tag: 'scim', access: 'administrator', status: 201,
      summary: "Creates a bearer token for the connector's SCIM endpoint; the token is shown in this answer only",
      body: z.object({ label: z.string().trim().max(200).optional() }).strict(),
      response: z.object({ token: z.string(), tokenInfo: tokenOut, tenantUrl: z.string() }),
      errors: { 404: 'no such connector', 409: 'the connector is not a SCIM connector' },
    },
    async ({ params, body, req }) => {
      await scimConnector(params.id!);
      const { token, info } = await repo.createToken(params.id!, body.label ?? null);
      return { token, tokenInfo: info, tenantUrl: `${req.protocol}://${req.host}/scim/v2/${params.id}` };
    },
  );

  api.route(
    { method: 'GET', path: '/api/v1/connectors/:id/scim-tokens', tag: 'scim', access: 'administrator', summary: "The connector's SCIM tokens (never the token itself)", response: z.object({ tokens: z.array(tokenOut) }) },
    async ({ params }) => {
      await scimConnector(params.id!);
      return { tokens: await repo.tokens(params.id!) };
    },
  );

  api.route(
    { method: 'DELETE', path: '/api/v1/connectors/:id/scim-tokens/:tokenId', tag: 'scim', access: 'administrator', summary: 'Revokes a SCIM token: requests with it are refused (401) from now on', status: 204, errors: { 404: 'no such live token' } },
    async ({ params }) => {
      await scimConnector(params.id!);
      if (!(await repo.revokeToken(params.id!, params.tokenId!))) throw new HttpError(404, `no live SCIM token ${params.tokenId} for connector ${params.id}`);
      return null;
    },
  );
}
