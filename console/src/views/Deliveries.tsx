import { useId, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "../api/hooks";
import { DeliveriesDocument, ReplayDocument, ReplayPreviewDocument, RetryDocument, type DeliveryStatus } from "../gql/graphql";
import { Empty, ErrorNote, Loading, StatusBadge, ago, time } from "../ui/common";
import { AttemptView } from "./AttemptView";

const STATUSES: DeliveryStatus[] = ["PENDING", "RETRYING", "SUCCEEDED", "FAILED"];

/** datetime-local's value (local time, no zone) as an ISO instant; undefined when empty. */
function toIso(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function Deliveries({ webhookId }: { webhookId: string }) {
  const id = useId();
  const [status, setStatus] = useState<DeliveryStatus | "">("");
  const [since, setSince] = useState("");
  const [until, setUntil] = useState("");
  const [after, setAfter] = useState<string[]>([]);
  const [open, setOpen] = useState<string | undefined>();
  const list = useQuery(DeliveriesDocument, {
    webhookId,
    first: 25,
    ...(status ? { status } : {}),
    ...(toIso(since) ? { since: toIso(since) } : {}),
    ...(toIso(until) ? { until: toIso(until) } : {}),
    ...(after.length ? { after: after[after.length - 1] } : {}),
  });
  const retry = useMutation(RetryDocument);
  const replay = useMutation(ReplayDocument);
  const [replaySince, setReplaySince] = useState("");
  const [onlyFailed, setOnlyFailed] = useState(true);
  const [note, setNote] = useState<string | undefined>();
  // The count a replay would queue, shown before it is confirmed (and asked again after each replay).
  const replayFrom = toIso(replaySince);
  const preview = useQuery(ReplayPreviewDocument, { webhookId, since: replayFrom ?? "", onlyFailed }, { skip: !replayFrom });
  const previewCount = replayFrom ? preview.data?.replayPreview.count : undefined;
  const tooMany = preview.data && replayFrom ? preview.data.replayPreview.count > preview.data.replayPreview.limit : false;
  const edges = list.data?.webhookLogs.edges ?? [];
  const submitReplay = async (event: FormEvent) => {
    event.preventDefault();
    const iso = toIso(replaySince);
    if (!iso) return setNote("Choose the time to replay from.");
    const r = await replay.run({ webhookId, since: iso, onlyFailed });
    if (r) {
      setNote(`${r.replayWebhook.queued} deliveries queued again.`);
      list.reload();
      preview.reload();
    }
  };
  return (
    <>
      <form className="filters" aria-label="Filter deliveries" onSubmit={(e) => e.preventDefault()}>
        <div>
          <label htmlFor={`${id}-status`}>Status</label>
          <select id={`${id}-status`} value={status} onChange={(e) => { setStatus(e.target.value as DeliveryStatus | ""); setAfter([]); }}>
            <option value="">All</option>
            {STATUSES.map((s) => <option key={s} value={s}>{s.toLowerCase()}</option>)}
          </select>
        </div>
        <div>
          <label htmlFor={`${id}-since`}>Created from</label>
          <input id={`${id}-since`} type="datetime-local" value={since} onChange={(e) => { setSince(e.target.value); setAfter([]); }} />
        </div>
        <div>
          <label htmlFor={`${id}-until`}>Created before</label>
          <input id={`${id}-until`} type="datetime-local" value={until} onChange={(e) => { setUntil(e.target.value); setAfter([]); }} />
        </div>
        <div>
          <button type="button" className="secondary" onClick={() => list.reload()}>Refresh</button>
        </div>
      </form>
      <ErrorNote error={list.error ?? retry.error} />
      {!list.data && list.loading ? <Loading what="deliveries" /> : null}
      {list.data && !edges.length ? <Empty>No deliveries match{status || since || until ? " these filters" : " yet"}.</Empty> : null}
      {edges.length ? (
        <div className="table-wrap">
          <table aria-busy={list.loading}>
            <caption className="sr-only">Deliveries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Delivery</th>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last attempt</th>
                <th scope="col">Next attempt</th>
                <th scope="col"><span className="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {edges.map(({ node: d }) => (
                <tr key={d.id} data-delivery={d.id}>
                  <td>
                    <button type="button" className="link" aria-expanded={open === d.id} onClick={() => setOpen(open === d.id ? undefined : d.id)}>
                      #{d.id}
                    </button>
                  </td>
                  <td>{d.event.eventName} <span className="muted">#{d.event.id}</span></td>
                  <td><StatusBadge status={d.status} /></td>
                  <td>{d.attemptCount}</td>
                  <td>{d.lastAttemptAt ? ago(d.lastAttemptAt) : "never"}</td>
                  <td>{d.nextAttemptAt && (d.status === "PENDING" || d.status === "RETRYING") ? time(d.nextAttemptAt) : "—"}</td>
                  <td>
                    {d.status === "SUCCEEDED" ? null : (
                      <button
                        type="button"
                        className="secondary"
                        disabled={retry.busy}
                        aria-label={`Retry delivery ${d.id}`}
                        onClick={async () => {
                          const r = await retry.run({ deliveryId: d.id });
                          if (r) {
                            setNote(`Delivery #${d.id} will be tried again now.`);
                            list.reload();
                          }
                        }}
                      >
                        Retry
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <nav className="pager" aria-label="Pages of deliveries">
        <button type="button" className="secondary" disabled={!after.length} onClick={() => setAfter(after.slice(0, -1))}>Newer</button>
        <button type="button" className="secondary" disabled={!list.data?.webhookLogs.pageInfo.hasNextPage} onClick={() => setAfter([...after, list.data!.webhookLogs.pageInfo.endCursor!])}>Older</button>
      </nav>
      {open ? (
        <section aria-label={`Delivery ${open}`} className="card">
          <h2>Delivery #{open}</h2>
          {edges.find((e) => e.node.id === open)?.node.attempts.map((a) => <AttemptView key={a.id} attempt={a} />)}
          {edges.find((e) => e.node.id === open)?.node.attempts.length === 0 ? <Empty>Not attempted yet.</Empty> : null}
        </section>
      ) : null}
      <form className="card" onSubmit={submitReplay} aria-labelledby={`${id}-replay`}>
        <h2 id={`${id}-replay`}>Replay</h2>
        <p className="muted">Queues a new delivery of every event this webhook was sent since a time.</p>
        <div className="row">
          <div>
            <label htmlFor={`${id}-replay-since`}>Since</label>
            <input id={`${id}-replay-since`} type="datetime-local" required value={replaySince} onChange={(e) => setReplaySince(e.target.value)} />
          </div>
          <label className="check">
            <input type="checkbox" checked={onlyFailed} onChange={(e) => setOnlyFailed(e.target.checked)} /> Only failed deliveries
          </label>
          <button type="submit" disabled={replay.busy || !replayFrom || previewCount === undefined || previewCount === 0 || tooMany}>
            {previewCount === undefined ? "Replay" : `Replay ${previewCount} ${previewCount === 1 ? "delivery" : "deliveries"}`}
          </button>
        </div>
        <p className="muted" data-testid="replay-preview" aria-live="polite">
          {!replayFrom
            ? "Choose a time to see how many deliveries a replay would queue."
            : previewCount === undefined
              ? "Counting…"
              : tooMany
                ? `${previewCount} deliveries: more than one replay may queue (${preview.data!.replayPreview.limit}); choose a later time, or only failed ones.`
                : `This replay will queue ${previewCount} ${previewCount === 1 ? "delivery" : "deliveries"}.`}
        </p>
        <ErrorNote error={preview.error ?? replay.error} />
      </form>
      <p role="status" className="ok">{note}</p>
    </>
  );
}
