import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jobTimingsFromEnv } from './index.ts';

test('job timings from the environment: unset gives the defaults, set values are taken', () => {
  assert.deepEqual(jobTimingsFromEnv({}), {});
  assert.deepEqual(jobTimingsFromEnv({ IDSYNC_JOB_LEASE_SECONDS: '20', IDSYNC_JOB_RENEW_MS: '2000', IDSYNC_JOB_POLL_SECONDS: '0.5' }), { leaseSeconds: 20, renewMs: 2000, pollingIntervalSeconds: 0.5 });
});

test('job timings from the environment: a value that is not a positive number is refused, naming the variable', () => {
  assert.throws(() => jobTimingsFromEnv({ IDSYNC_JOB_POLL_SECONDS: 'soon' }), /IDSYNC_JOB_POLL_SECONDS must be a positive number, not "soon"/);
  assert.throws(() => jobTimingsFromEnv({ IDSYNC_JOB_LEASE_SECONDS: '0' }), /IDSYNC_JOB_LEASE_SECONDS must be a positive number/);
});

test('job timings from the environment: a renewal not shorter than the lease is refused (another instance would take a live job)', () => {
  assert.throws(() => jobTimingsFromEnv({ IDSYNC_JOB_LEASE_SECONDS: '2' }), /IDSYNC_JOB_RENEW_MS \(5000\) must be shorter than the lease \(2000 ms\)/);
  assert.throws(() => jobTimingsFromEnv({ IDSYNC_JOB_LEASE_SECONDS: '10', IDSYNC_JOB_RENEW_MS: '10000' }), /must be shorter than the lease/);
});
