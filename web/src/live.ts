// Live run events from the server (GET /api/v1/events, server-sent events) instead of polling.
// The browser's EventSource reconnects by itself after a drop (the server asks for 3 s); while
// the stream is down, the page falls back to polling `fallback` every few seconds, and stops
// again as soon as the stream is back (its snapshot then brings the page up to date).
import { useEffect, useRef } from 'react';

export interface RunEventData {
  connectorId: string;
  runId: string;
  kind?: 'full' | 'user' | 'incremental' | 'push';
  dryRun?: boolean;
  trigger?: string;
  userRef?: string;
  startedAt?: string;
  progress?: { phase: string; read: number; planned: number; written: number; failed: number };
  status?: string;
  error?: string;
  finishedAt?: string;
  counts?: Record<string, number>;
}

export interface LiveHandlers {
  snapshot?(connectors: Array<{ connectorId: string; active?: RunEventData; last?: RunEventData }>): void;
  started?(e: RunEventData): void;
  progress?(e: RunEventData): void;
  finished?(e: RunEventData): void;
  /** Called while the stream is down, every FALLBACK_POLL_MS. */
  fallback?(): void;
}

export const FALLBACK_POLL_MS = 3000;

/** Subscribes the page to run events (of one connector, when given) while it is shown. */
export function useRunEvents(connectorId: string | undefined, handlers: LiveHandlers): void {
  // The latest handlers, so a re-render does not reopen the stream.
  const current = useRef(handlers);
  current.current = handlers;
  useEffect(() => {
    let source: EventSource | undefined;
    let poll: ReturnType<typeof setInterval> | undefined;
    let reopen: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const startFallback = () => {
      if (!poll) poll = setInterval(() => current.current.fallback?.(), FALLBACK_POLL_MS);
    };
    const stopFallback = () => {
      clearInterval(poll);
      poll = undefined;
    };
    const on = (type: string, fn: (data: any) => void) =>
      source!.addEventListener(type, (m) => {
        try {
          fn(JSON.parse((m as MessageEvent<string>).data));
        } catch {
          /* a malformed event is skipped; the next snapshot corrects the page */
        }
      });
    const connect = () => {
      source = new EventSource(`/api/v1/events${connectorId ? `?connectorId=${encodeURIComponent(connectorId)}` : ''}`, { withCredentials: true });
      source.onopen = () => stopFallback();
      source.onerror = () => {
        startFallback();
        // CLOSED means the browser gave up (e.g. an answer that is no event stream): try later.
        if (source?.readyState === EventSource.CLOSED && !stopped) {
          source.close();
          reopen = setTimeout(connect, FALLBACK_POLL_MS * 3);
        }
      };
      on('snapshot', (d) => current.current.snapshot?.(d.connectors));
      on('run-started', (d) => current.current.started?.(d));
      on('run-progress', (d) => current.current.progress?.(d));
      on('run-finished', (d) => current.current.finished?.(d));
    };
    connect();
    return () => {
      stopped = true;
      source?.close();
      stopFallback();
      clearTimeout(reopen);
    };
  }, [connectorId]);
}
