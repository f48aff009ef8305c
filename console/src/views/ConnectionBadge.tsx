import { useConnectionState } from "../api/hooks";

const WORDS = { connecting: "Connecting…", connected: "Live", reconnecting: "Reconnecting…", closed: "Not live" } as const;

/** The live connection's state, always in the header (fixed width: no layout jump when it changes). */
export function ConnectionBadge() {
  const state = useConnectionState();
  return (
    <span className={`conn conn-${state}`} role="status" aria-live="polite" data-state={state} data-testid="conn">
      <span className="dot" aria-hidden="true" />
      {WORDS[state]}
    </span>
  );
}
