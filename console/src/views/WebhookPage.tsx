import { useCallback, useEffect, useState } from "react";
import { asApiError, useApi, useMutation, useQuery } from "../api/hooks";
import type { ApiError } from "../api/client";
import {
  RotateSecretDocument,
  SendTestDocument,
  StatsDocument,
  UpdateConsoleWebhookDocument,
  WebhookSettingsDocument,
  type WebhookSettingsQuery,
} from "../gql/graphql";
import type { Me } from "../session";
import { ErrorNote, Link, Loading, SecretOnce, duration } from "../ui/common";
import { scheduleInWords } from "../ui/schedule";
import { AttemptsChart, RateBar } from "./Chart";
import { Deliveries } from "./Deliveries";
import { LiveAttempts } from "./LiveAttempts";
import { WebhookForm } from "./WebhookForm";
import { WebhookState } from "./Webhooks";

type Webhook = NonNullable<WebhookSettingsQuery["webhook"]>;

const TABS = [
  { key: "overview", label: "Overview" },
  { key: "deliveries", label: "Deliveries" },
  { key: "live", label: "Live tail" },
  { key: "settings", label: "Settings" },
] as const;

/** One webhook, by id (the `webhook` query: null when this token may not see it). */
function useWebhook(webhookId: string): { webhook: Webhook | undefined; error: ApiError | undefined; loading: boolean; reload(): void } {
  const api = useApi();
  const [state, setState] = useState<{ webhook?: Webhook; error?: ApiError; loading: boolean }>({ loading: true });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let current = true;
    api.request(WebhookSettingsDocument, { id: webhookId }).then(
      ({ webhook }) => current && setState({ webhook: webhook ?? undefined, loading: false }),
      (error: unknown) => current && setState((s) => ({ ...s, error: asApiError(error), loading: false })),
    );
    return () => {
      current = false;
    };
  }, [api, webhookId, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { webhook: state.webhook, error: state.error, loading: state.loading, reload };
}

export function WebhookPage({ me, webhookId, tab }: { me: Me; webhookId: string; tab: string }) {
  const { webhook, error, loading, reload } = useWebhook(webhookId);
  if (!webhook) {
    return (
      <section>
        <h1>Webhook #{webhookId}</h1>
        <ErrorNote error={error} />
        {loading ? <Loading what="the webhook" /> : !error ? <p className="empty">There is no webhook #{webhookId} that this token may see. <Link to="/">All webhooks</Link></p> : null}
      </section>
    );
  }
  return (
    <section>
      <p className="crumbs"><Link to="/">Webhooks</Link> / #{webhook.id}</p>
      <div className="title-row">
        <h1>
          Webhook #{webhook.id} <span className="mono url">{webhook.url}</span>
        </h1>
        <WebhookState webhook={webhook} />
      </div>
      <nav aria-label="Webhook sections" className="tabs">
        <ul>
          {TABS.map((t) => (
            <li key={t.key}>
              <Link to={`/webhooks/${webhook.id}${t.key === "overview" ? "" : `/${t.key}`}`} className={tab === t.key ? "current" : undefined}>
                {t.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      {tab === "overview" ? <Overview webhook={webhook} onChanged={reload} /> : null}
      {tab === "deliveries" ? <Deliveries webhookId={webhook.id} /> : null}
      {tab === "live" ? <LiveAttempts webhookId={webhook.id} /> : null}
      {tab === "settings" ? <WebhookForm key={webhook.updatedAt} me={me} webhook={webhook} onSaved={reload} /> : null}
    </section>
  );
}

function Overview({ webhook, onChanged }: { webhook: Webhook; onChanged: () => void }) {
  const stats = useQuery(StatsDocument, { webhookIds: [webhook.id], hours: 3, bucketMinutes: 1 });
  const rotate = useMutation(RotateSecretDocument);
  const test = useMutation(SendTestDocument);
  const toggle = useMutation(UpdateConsoleWebhookDocument);
  const [secret, setSecret] = useState<string | undefined>();
  const [note, setNote] = useState<string | undefined>();
  const series = stats.data?.webhookStats.webhooks[0];
  return (
    <>
      <div className="actions">
        <button
          type="button"
          disabled={test.busy}
          onClick={async () => {
            const r = await test.run({ webhookId: webhook.id });
            if (r) setNote(`Test event queued as delivery #${r.sendTestEvent.id}: see Deliveries or the Live tail.`);
          }}
        >
          Send test event
        </button>
        <button
          type="button"
          className="secondary"
          disabled={rotate.busy}
          onClick={async () => {
            if (!confirm("Rotate the signing secret? For 24 hours both secrets sign.")) return;
            const r = await rotate.run({ webhookId: webhook.id });
            if (r) setSecret(r.rotateWebhookSecret.signingSecret);
          }}
        >
          Rotate signing secret
        </button>
        <button
          type="button"
          className="secondary"
          disabled={toggle.busy}
          onClick={async () => {
            const r = await toggle.run({ webhookId: webhook.id, input: { isActive: !webhook.isActive } });
            if (r) {
              setNote(r.updateWebhook.isActive ? "Enabled: waiting deliveries are sent again." : "Disabled: deliveries wait until it is enabled.");
              onChanged();
            }
          }}
        >
          {webhook.isActive ? "Disable" : "Enable"}
        </button>
      </div>
      <ErrorNote error={test.error ?? rotate.error ?? toggle.error} />
      <p role="status" className="ok">{note}</p>
      {secret ? <SecretOnce label="New signing secret" value={secret} onDone={() => setSecret(undefined)} /> : null}
      <dl className="facts">
        <dt>Service</dt>
        <dd>{webhook.service.title}</dd>
        <dt>Method</dt>
        <dd>{webhook.requestMethod}</dd>
        <dt>Event types</dt>
        <dd>{webhook.eventTypes.map((t) => t.name).join(", ") || "none"}</dd>
        <dt>Retries</dt>
        <dd>{scheduleInWords(webhook.retryPolicy, webhook.retryIntervalSeconds, webhook.retryWindowSeconds)}</dd>
        <dt>Authentication</dt>
        <dd>{webhook.auth.type === "NONE" ? "none" : webhook.auth.type === "BASIC" ? `HTTP Basic as ${webhook.auth.username ?? ""}` : "Authorization header"}</dd>
        <dt>Extra headers</dt>
        <dd>
          {webhook.requestHeaders === null || webhook.requestHeaders === undefined
            ? "unreadable: sealed with another HOOKGATE_ENCRYPTION_KEY; set them again under Edit"
            : webhook.requestHeaders.map((h) => h.name).join(", ") || "none"}
        </dd>
        {webhook.disabledReason ? (
          <>
            <dt>Disabled because</dt>
            <dd>{webhook.disabledReason}</dd>
          </>
        ) : null}
        <dt>Success rate (3 h)</dt>
        <dd>{series ? <RateBar rate={series.successRate} /> : "…"}</dd>
      </dl>
      <h2>Attempts per minute, last 3 hours</h2>
      <ErrorNote error={stats.error} />
      {series && stats.data ? (
        <AttemptsChart
          series={series}
          since={stats.data.webhookStats.since}
          bucketSeconds={stats.data.webhookStats.bucketSeconds}
          buckets={(3 * 3600) / stats.data.webhookStats.bucketSeconds}
          title={`Webhook #${webhook.id}, ${duration(3 * 3600)}`}
        />
      ) : (
        <div className="chart-placeholder" aria-hidden="true" />
      )}
    </>
  );
}
