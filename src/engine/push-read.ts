// The push read: a batch a provider pushed to idsync (inbound SCIM, src/sources/scim/push.ts),
// handed in with the request. Like an incremental read it brings only what changed: it is not
// exhaustive (nobody is marked gone for not being in it), and only users whose shadow record
// changed are projected; a deleted user comes as a removal with reason 'deleted'.
import { IdsyncError } from '../core/errors.ts';
import type { SyncRequest } from './api.ts';
import type { Reader } from './ingest.ts';

export function pushRead(req: SyncRequest): Reader {
  const batch = req.push;
  if (!batch) throw new IdsyncError('INTERNAL', 'a push run was started without the pushed users', { hint: 'push runs are started by the SCIM endpoint, not by hand' });
  return {
    exhaustive: false,
    async *batches() {
      yield { users: batch.users, removed: batch.removed };
    },
  };
}
