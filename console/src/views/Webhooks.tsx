import { useState } from "react";
import { useQuery } from "../api/hooks";
import { StatsDocument, WebhookListDocument, type ConsoleWebhookFragment } from "../gql/graphql";
import type { Me } from "../session";
import { Empty, ErrorNote, Link, Loading, time } from "../ui/common";
import { AttemptsChart, RateBar, Sparkline } from "./Chart";
import { WebhookForm } from "./WebhookForm";

const HOURS = 6;

export function Webhooks({ me }: { me: Me }) {
  const [page, setPage] = useState(1);
  const [creating, setCreating] = useState(false);
  const list = useQuery(WebhookListDocument, { page, perPage: 20 });
  const webhooks = list.data?.webhooks.data ?? [];
  const ids = webhooks.map((w) => w.id);
  const stats = useQuery(StatsDocument, { webhookIds: ids, hours: HOURS, bucketMinutes: 5 }, { skip: ids.length === 0 });
  const byId = new Map(stats.data?.webhookStats.webhooks.map((s) => [s.webhookId, s]));
  return (
    <section>
      <div className="title-row">
        <h1>Webhooks</h1>
        <button type="button" onClick={() => setCreating((c) => !c)} aria-expanded={creating}>
          {creating ? "Close the form" : "New webhook"}
        </button>
      </div>
      {creating ? <WebhookForm me={me} onSaved={() => list.reload()} /> : null}
      <ErrorNote error={list.error} />
      {!list.data && list.loading ? <Loading what="webhooks" /> : null}
      {list.data && !webhooks.length ? (
        <Empty>{me.kind === "SERVICE" ? "This service has no webhooks yet." : "No webhooks yet."} Create one with “New webhook”.</Empty>
      ) : null}
      {webhooks.length ? (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Webhooks with their health over the last {HOURS} hours</caption>
            <thead>
              <tr>
                <th scope="col">Webhook</th>
                {me.kind === "ADMIN" ? <th scope="col">Service</th> : null}
                <th scope="col">Events</th>
                <th scope="col">State</th>
                <th scope="col" className="wide-only">Last {HOURS} h</th>
                <th scope="col">Attempts</th>
                <th scope="col">Success rate</th>
              </tr>
            </thead>
            <tbody>
              {webhooks.map((w) => (
                <tr key={w.id}>
                  <td>
                    <Link to={`/webhooks/${w.id}`}>#{w.id}</Link> <span className="mono url">{w.url}</span>
                  </td>
                  {me.kind === "ADMIN" ? <td>{w.service.title}</td> : null}
                  <td>{w.eventTypes.map((t) => t.name).join(", ") || <span className="muted">none</span>}</td>
                  <td><WebhookState webhook={w} /></td>
                  <td className="wide-only">
                    <Sparkline
                      series={byId.get(w.id)}
                      since={stats.data?.webhookStats.since ?? ""}
                      bucketSeconds={stats.data?.webhookStats.bucketSeconds ?? 300}
                      buckets={(HOURS * 3600) / (stats.data?.webhookStats.bucketSeconds ?? 300)}
                    />
                  </td>
                  <td>{byId.get(w.id)?.attempts ?? "…"}</td>
                  <td><RateBar rate={byId.get(w.id)?.successRate} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {list.data && list.data.webhooks.totalPage > 1 ? (
        <nav className="pager" aria-label="Pages">
          <button type="button" className="secondary" disabled={page <= 1} onClick={() => setPage(page - 1)}>Previous</button>
          <span>Page {page} of {list.data.webhooks.totalPage}</span>
          <button type="button" className="secondary" disabled={page >= list.data.webhooks.totalPage} onClick={() => setPage(page + 1)}>Next</button>
        </nav>
      ) : null}
      {stats.data && webhooks.length ? (
        <>
          <h2>Attempts per 5 minutes, last {HOURS} hours</h2>
          <div className="charts">
            {stats.data.webhookStats.webhooks.filter((s) => s.attempts > 0).map((s) => (
              <AttemptsChart
                key={s.webhookId}
                series={s}
                since={stats.data!.webhookStats.since}
                bucketSeconds={stats.data!.webhookStats.bucketSeconds}
                buckets={(HOURS * 3600) / stats.data!.webhookStats.bucketSeconds}
                title={`Webhook #${s.webhookId}`}
              />
            ))}
          </div>
          {stats.data.webhookStats.webhooks.every((s) => s.attempts === 0) ? <Empty>No attempts in the last {HOURS} hours.</Empty> : null}
        </>
      ) : null}
      <ErrorNote error={stats.error} prefix="Charts" />
    </section>
  );
}

export function WebhookState({ webhook }: { webhook: ConsoleWebhookFragment }) {
  if (webhook.disabledAt) {
    return (
      <span className="badge badge-failed" title={webhook.disabledReason ?? undefined}>
        Disabled {time(webhook.disabledAt)}: {webhook.disabledReason ?? "by the gateway"}
      </span>
    );
  }
  return webhook.isActive ? <span className="badge badge-succeeded">Active</span> : <span className="badge badge-pending">Paused</span>;
}
