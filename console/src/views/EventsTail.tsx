import { useEffect, useRef, useState } from "react";
import { useApi } from "../api/hooks";
import type { ApiError } from "../api/client";
import { EventTailDocument, RecentEventsDocument, type ConsoleEventFragment } from "../gql/graphql";
import type { Me } from "../session";
import { Empty, ErrorNote, JsonBlock, time } from "../ui/common";

const KEEP = 200;

/**
 * Live events (eventPublished), with the visibility of the caller's token. It opens with the
 * latest stored events, then subscribes with `after` = the newest id seen; after a reconnect it
 * subscribes again from the newest id it has, so nothing stored meanwhile is missed or repeated.
 */
export function EventsTail({ me }: { me: Me }) {
  const api = useApi();
  const [events, setEvents] = useState<ConsoleEventFragment[]>([]);
  const [error, setError] = useState<ApiError | undefined>();
  const [open, setOpen] = useState<string | undefined>();
  const [loaded, setLoaded] = useState(false);
  const newest = useRef<string | undefined>(undefined);

  useEffect(() => {
    let live = true;
    let stop: (() => void) | undefined;
    const add = (incoming: ConsoleEventFragment[]) => {
      for (const e of incoming) if (!newest.current || BigInt(e.id) > BigInt(newest.current)) newest.current = e.id;
      setEvents((current) => {
        const byId = new Map(current.map((e) => [e.id, e]));
        for (const e of incoming) byId.set(e.id, e);
        return [...byId.values()].sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1)).slice(0, KEEP);
      });
    };
    const subscribe = () => {
      stop?.();
      stop = api.subscribe(EventTailDocument, newest.current ? { after: newest.current } : {}, {
        next: (data) => add([data.eventPublished]),
        error: (e) => live && setError(e),
      });
    };
    api.request(RecentEventsDocument, { first: 30 }).then(
      (r) => {
        if (!live) return;
        add(r.events.edges.map((e) => e.node));
        setLoaded(true);
        subscribe();
      },
      (e: ApiError) => live && setError(e),
    );
    const off = api.onReconnect(subscribe);
    return () => {
      live = false;
      off();
      stop?.();
    };
  }, [api]);

  return (
    <section>
      <h1>{me.kind === "CUSTOMER" ? "My events" : "Live events"}</h1>
      <p className="muted">Newest first; new events appear as they are stored.</p>
      <ErrorNote error={error} />
      <div className="tail tall" role="log" aria-label="Events, newest first" tabIndex={0} data-loaded={loaded}>
        {loaded && !events.length ? <Empty>No events yet.</Empty> : null}
        <ul>
          {events.map((e) => (
            <li key={e.id} data-event={e.id}>
              <button type="button" className="tail-row" aria-expanded={open === e.id} onClick={() => setOpen(open === e.id ? undefined : e.id)}>
                <span className="tail-time">{time(e.createdAt)}</span>
                <span className="tail-status mono">{e.eventName}</span>
                <span className="tail-num">#{e.id}</span>
                <span className="tail-ms">{e.customer ? `customer ${e.customer.name || e.customer.id}` : ""}</span>
              </button>
              {open === e.id ? <JsonBlock value={e.payload} label={`Payload of event ${e.id}`} /> : null}
            </li>
          ))}
        </ul>
      </div>
    </section>
  );
}
