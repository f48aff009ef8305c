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
 * Live tail of a webhook's attempts (deliveryAttempted). It opens with the recent attempts from
 * webhookLogs, then follows the subscription, keeping the cursor of the last attempt it gave.
 * After a reconnect it subscribes again with `after` = that cursor: the gateway sends every
 * attempt recorded meanwhile, then live ones, nothing missed and nothing twice. (Before the first
 * live attempt there is no cursor: then it reads webhookLogs again instead.)
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
    let stop: (() => void) | undefined;
    let cursor: string | undefined;
    const backfill = () =>
      api.request(DeliveriesDocument, { webhookId, first: 50 }).then(
        (r) => {
          if (!live) return;
          add.current(r.webhookLogs.edges.flatMap((e) => e.node.attempts));
          setLoaded(true);
        },
        (e: ApiError) => live && setError(e),
      );
    const subscribe = () => {
      stop?.();
      stop = api.subscribe(AttemptTailDocument, cursor ? { webhookId, after: cursor } : { webhookId }, {
        next: (data) => {
          cursor = data.deliveryAttempted.cursor ?? cursor;
          add.current([data.deliveryAttempted]);
        },
        error: (e) => live && setError(e),
      });
    };
    subscribe();
    void backfill();
    const off = api.onReconnect(() => {
      if (!cursor) void backfill();
      subscribe();
    });
    return () => {
      live = false;
      off();
      stop?.();
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
