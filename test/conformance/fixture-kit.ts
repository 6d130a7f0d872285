// What the emulator-backed source fixtures (entra, okta, google, keycloak, onelogin) share: the
// control API client (/_emulator/… over the emulator's own TLS), the overrides a SourceSetup
// makes, how a FaultSpec becomes a scripted fault, and the fault controls every emulator
// answers the same way. Each fixture keeps what is its provider's own (WHERE, expectations).
import { Agent, fetch } from 'undici';
import type { ScriptedFault } from '../../emulators/common/server.ts';
import type { FaultSpec, SourceFixture, SourceSetup } from './source-suite.ts';

/** `times: 'always'`: more requests than any test makes. */
export const PERSISTENT = 100_000;

/** Which emulator requests each `FaultSpec.where` hits, in the provider's own URLs. */
export type FaultPlaces = Record<FaultSpec['where'], Pick<ScriptedFault, 'path' | 'pattern'>>;

/**
 * How each fault kind is answered: short pages are truncated on the first page and cut (half a
 * JSON body) on later ones, so both shapes are met. `emptyPage` is how the provider says "no
 * (more) users" when the common `empty-page` answer does not fit its format.
 */
export function scriptedFault(spec: FaultSpec, where: FaultPlaces, emptyPage: Partial<ScriptedFault> = { answer: 'empty-page' }): ScriptedFault {
  const times = spec.times === 'always' ? PERSISTENT : spec.times;
  const at = { ...where[spec.where], skip: spec.after };
  switch (spec.kind) {
    case 'server-error':
      return { ...at, status: 500, times };
    case 'drop':
      return { ...at, drop: true, times };
    case 'empty-page':
      return { ...at, ...emptyPage, times };
    case 'short-page':
      return { ...at, answer: spec.where === 'first-page' ? 'truncated' : 'cut', times };
  }
}

/** The source settings a SourceSetup asks for; `filter` is the provider's setting and expression for `filtered`. */
export function setupOverrides(setup: SourceSetup, filter?: { setting: string; value: string }): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  if (setup.filtered && filter) overrides[filter.setting] = filter.value;
  if (setup.requiredGroups) overrides.requiredGroups = setup.requiredGroups;
  if (setup.pageSize) overrides.pageSize = setup.pageSize;
  return overrides;
}

export type Control = (path: string, method?: string, body?: unknown) => Promise<unknown>;

/** A client of an emulator's control API, as a test in another process would drive it; `close` ends its connections. */
export function emulatorControl(emu: { url: string; ca?: string }): { control: Control; close(): Promise<void> } {
  const agent = new Agent({ connect: { ca: emu.ca } });
  const control: Control = async (path, method = 'POST', body) => {
    const res = await fetch(`${emu.url}/_emulator${path}`, { method, dispatcher: agent, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`emulator ${method} ${path} answered ${res.status}: ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  return { control, close: () => agent.close() };
}

/**
 * The common emulator's fault controls through its control API: a scripted fault appended to
 * those already set, a storm of 5xx on 30% of the calls, none at all, and the count injected.
 */
export function faultControls(control: Control, where: FaultPlaces, emptyPage?: Partial<ScriptedFault>): Required<Pick<SourceFixture, 'fault' | 'storm' | 'clearFaults' | 'faultsInjected'>> {
  return {
    async fault(spec) {
      const current = (await control('/faults', 'GET')) as { script: ScriptedFault[] };
      await control('/faults', 'POST', { script: [...current.script, scriptedFault(spec, where, emptyPage)] });
    },
    storm: async () => void (await control('/faults', 'POST', { errorRate: 0.3, errorStatus: 503, seed: 11 })),
    clearFaults: async () => void (await control('/faults', 'POST', { errorRate: 0, dropRate: 0, script: [] })),
    faultsInjected: async () => ((await control('/stats', 'GET')) as { faultsInjected: number }).faultsInjected,
  };
}
