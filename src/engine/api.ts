// The engine's contract with its callers (CLI, REST API, scheduler). Implemented in ./engine.ts.
import type { ConnectorConfig } from '../config/schema.ts';
import type { FieldChange, FieldValues, ItemOperation, RunKind, TestResult } from '../core/types.ts';
import type { RunRecord } from '../store/runs.ts';
import type { MatchedBy } from './matching.ts';
import type { Quarantine } from '../store/quarantine.ts';
import type { IngestBatch } from './ingest.ts';

export type Trigger = 'cli' | 'api' | 'ui' | 'schedule' | 'demo' | 'bench' | 'scim';

export interface SyncRequest {
  connector: ConnectorConfig;
  kind: RunKind;
  /** For kind 'user': UPN, mail, object id, or the Atlassian username of a linked user. */
  userRef?: string;
  /** For kind 'push': the users pushed (inbound SCIM) and those deleted there. */
  push?: IngestBatch;
  /** Simulate: plan everything, write nothing to targets or links; the run is journaled as a dry run. */
  dryRun?: boolean;
  /** Compare against the targets' actual values instead of the last-applied snapshot. */
  reconcile?: boolean;
  trigger: Trigger;
  onProgress?: (p: SyncProgress) => void;
  /** Called once the run is claimed in the store (it will run; no other run of the connector can start). */
  onClaimed?: (run: RunRecord) => void;
  /**
   * How long to wait for a run of the same connector (of any idsync process) to end before the
   * request is refused; defaults to the policy in run-claim.ts (single-user syncs wait, full ones do not).
   */
  claimWaitMs?: number;
  /** Called once when the request starts waiting for another run of the connector (with what runs). */
  onWaiting?: (message: string) => void;
  signal?: AbortSignal;
}

export interface SyncProgress {
  phase: 'connecting' | 'reading' | 'resolving' | 'checking-missing' | 'done';
  read: number;
  planned: number;
  written: number;
  failed: number;
}

/** What a single-user sync did, step by step, for the UI's "Sync a user" panel. */
export interface UserSyncReport {
  found: boolean;
  /** Found, but not synced by this connector, and why (outside its filter, not in a required group). */
  outOfScope?: string;
  sourceId?: string;
  label?: string;
  /** Mapped values per target. */
  mapped: Record<string, FieldValues>;
  targets: Array<{
    targetId: string;
    matched: MatchedBy;
    /** How a first-contact user was (or in a simulation would be) matched, in words. */
    match?: string;
    targetKey?: string;
    operation: ItemOperation;
    changes: FieldChange[];
    error?: string;
  }>;
}

export interface SyncResult {
  run: RunRecord;
  user?: UserSyncReport;
}

export interface ConnectionReport {
  ok: boolean;
  source: TestResult;
  targets: Record<string, TestResult>;
}

/** Approval of a quarantined cleanup (SyncEngine.approveQuarantine). */
export interface ApproveQuarantineRequest {
  connector: ConnectorConfig;
  quarantineId: string;
  /** Only these users (source ids); all held users when absent. */
  sourceIds?: string[];
  /** Who approved (journaled in the run's notice and on the quarantine). */
  by?: string | null;
  trigger: Trigger;
  onClaimed?: (run: RunRecord) => void;
}

export interface ApproveQuarantineResult {
  /** The cleanup run (kind `cleanup`), journaled like any other. */
  run: RunRecord;
  quarantine: Quarantine;
  /** Users not cleaned up after the re-check, and why (back in the provider, no longer linked). */
  skipped: Array<{ sourceId: string; targetId: string; note: string }>;
  /** Source ids asked for that the quarantine does not hold (any more). */
  notHeld: string[];
}
