// The Entra ID → Jira DC end-to-end suite (entra-jira-suite.ts) on the PostgreSQL store.
import { openPostgresStore } from '../helpers/stores.ts';
import { entraJiraSuite } from './entra-jira-suite.ts';

entraJiraSuite('postgres', openPostgresStore);
