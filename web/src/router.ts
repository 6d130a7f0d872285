// Hash routes (#/connectors/contoso): deep links work without server-side routing. A page with
// unsaved changes guards leaving it (useLeaveGuard): in-app links ask first, and so does the
// browser on reload or close.
import { useEffect, useState } from 'react';

/** The question to ask before leaving the current page, while it has unsaved changes. */
let leaveQuestion: string | undefined;
/** Set when the page itself navigates after saving: that one navigation needs no question. */
let allowNext = false;
/** The hash of the page shown, to return to when leaving is declined. */
let shownHash = window.location.hash;

export function useRoute(): string[] {
  const read = () => window.location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [parts, setParts] = useState(read);
  useEffect(() => {
    const on = () => {
      if (window.location.hash !== shownHash && leaveQuestion && !allowNext && !window.confirm(leaveQuestion)) {
        history.replaceState(history.state, '', shownHash || window.location.pathname);
        return;
      }
      allowNext = false;
      shownHash = window.location.hash;
      setParts(read());
    };
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return parts;
}

/** Asks `question` before the page is left while it is given (undefined: nothing to lose). */
export function useLeaveGuard(question: string | undefined): { allowOnce(): void } {
  useEffect(() => {
    leaveQuestion = question;
    if (!question) return;
    const onUnload = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = question;
    };
    window.addEventListener('beforeunload', onUnload);
    return () => {
      window.removeEventListener('beforeunload', onUnload);
      leaveQuestion = undefined;
    };
  }, [question]);
  return { allowOnce: () => { allowNext = true; } };
}

export function go(path: string): void {
  window.location.hash = path.startsWith('#') ? path : `#${path}`;
}
