import { useEffect, useRef, useState } from "react";
import { useApi, useLatest } from "../api/hooks";
import type { ApiError } from "../api/client";
import { AttemptTailDocument, DeliveriesDocument, type ConsoleAttemptFragment } from "../gql/graphql";
import { Empty, ErrorNote, time } from "../ui/common";
import { AttemptView } from "./AttemptView";

const KEEP = 200;

/** Newest first, each attempt once (by id), at most KEEP. */
function merge(current: ConsoleAttemptFragment[], incoming: ConsoleAttemptFragment[]): ConsoleAttemptFragment[] {
  const byId = new Map(current.map((a) => [a.id, a]));
  for (const a of incoming) byId.set(a.id, a);
  return [...byId.values()].sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1)).slice(0, KEEP);
}

/**
 * Live tail of a webhook's attempts (deliveryAttempted). The subscription has no cursor, so the
 * recent attempts are read from webhookLogs when the tail opens and again after every
 * reconnect: whatever was recorded while the socket was down shows up, each attempt once.
 */
export function LiveAttempts({ webhookId }: { webhookId: string }) {
  const api = useApi();
  const [attempts, setAttempts] = useState<ConsoleAttemptFragment[]>([]);
  const [error, setError] = useState<ApiError | undefined>();
  const [selected, setSelected] = useState<string | undefined>();
  const [loaded, setLoaded] = useState(false);
  const add = useLatest((incoming: ConsoleAttemptFragment[]) => setAttempts((current) => merge(current, incoming)));
  const detail = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let live = true;
    const backfill = () =>
      api.request(DeliveriesDocument, { webhookId, first: 50 }).then(
        (r) => {
          if (!live) return;
          add.current(r.webhookLogs.edges.flatMap((e) => e.node.attempts));
          setLoaded(true);
        },
        (e: ApiError) => live && setError(e),
      );
    const stop = api.subscribe(AttemptTailDocument, { webhookId }, {
      next: (data) => add.current([data.deliveryAttempted]),
      error: (e) => live && setError(e),
    });
    void backfill();
    const off = api.onReconnect(() => void backfill());
    return () => {
      live = false;
      off();
      stop();
    };
  }, [api, webhookId, add]);

  const chosen = attempts.find((a) => a.id === selected);
  return (
    <>
      <ErrorNote error={error} />
      <div className="tail" role="log" aria-label="Attempts, newest first" aria-live="off" tabIndex={0} data-loaded={loaded}>
        {loaded && !attempts.length ? <Empty>No attempts yet. Send a test event to see one arrive.</Empty> : null}
        <ul>
          {attempts.map((a) => (
            <li key={a.id} className={a.succeeded ? "ok-row" : "fail-row"} data-attempt={a.id}>
              <button
                type="button"
                className="tail-row"
                aria-pressed={selected === a.id}
                onClick={() => {
                  setSelected(a.id);
                  requestAnimationFrame(() => detail.current?.focus());
                }}
              >
                <span className="tail-time">{time(a.startedAt)}</span>
                <span className="tail-status">{a.succeeded ? "OK" : "FAIL"} {a.responseStatus ?? a.errorClass ?? ""}</span>
                <span className="tail-num">attempt {a.attemptNumber}</span>
                <span className="tail-ms">{a.durationMs} ms</span>
              </button>
            </li>
          ))}
        </ul>
      </div>
      <div ref={detail} tabIndex={-1} aria-label="Selected attempt">
        {chosen ? <AttemptView attempt={chosen} /> : <p className="muted">Choose an attempt to see its request and response.</p>}
      </div>
    </>
  );
}
