import { useId, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "../api/hooks";
import {
  CreateConsoleWebhookDocument,
  EventTypesDocument,
  ServicesDocument,
  UpdateConsoleWebhookDocument,
  type RequestMethod,
  type RetryPolicy,
  type WebhookAuthInput,
  type WebhookSettingsQuery,
} from "../gql/graphql";
import type { Me } from "../session";
import { ErrorNote, SecretOnce } from "../ui/common";
import { scheduleInWords } from "../ui/schedule";

type Existing = NonNullable<WebhookSettingsQuery["webhook"]>;
type AuthChoice = "KEEP" | "NONE" | "BASIC" | "TOKEN";

/** Create (no `webhook`) or edit every setting of a webhook. Passwords and tokens are write-only. */
export function WebhookForm({ me, webhook, onSaved }: { me: Me; webhook?: Existing; onSaved: () => void }) {
  const id = useId();
  const types = useQuery(EventTypesDocument, { perPage: 100 });
  const services = useQuery(ServicesDocument, { perPage: 100 }, { skip: me.kind !== "ADMIN" || !!webhook });
  const create = useMutation(CreateConsoleWebhookDocument);
  const update = useMutation(UpdateConsoleWebhookDocument);
  const [serviceId, setServiceId] = useState("");
  const [url, setUrl] = useState(webhook?.url ?? "");
  const [method, setMethod] = useState<RequestMethod>(webhook?.requestMethod ?? "POST");
  const [events, setEvents] = useState<Set<string>>(new Set(webhook?.eventTypes.map((t) => t.name)));
  const [headers, setHeaders] = useState<{ name: string; value: string }[]>(webhook?.requestHeaders?.map((h) => ({ ...h })) ?? []);
  const [auth, setAuth] = useState<AuthChoice>(webhook ? "KEEP" : "NONE");
  const [username, setUsername] = useState(webhook?.auth.username ?? "");
  const [password, setPassword] = useState("");
  const [token, setToken] = useState("");
  const [policy, setPolicy] = useState<RetryPolicy>(webhook?.retryPolicy ?? "EXPONENTIAL");
  const [interval, setIntervalSeconds] = useState(webhook?.retryIntervalSeconds ?? 60);
  const [windowSeconds, setWindowSeconds] = useState(webhook?.retryWindowSeconds ?? 86400);
  const [fifo, setFifo] = useState(webhook?.ordering === "FIFO");
  const [pauseOnFailure, setPauseOnFailure] = useState(webhook?.fifoOnFailure === "PAUSE");
  // Empty: no limit.
  const [rate, setRate] = useState(webhook?.maxDeliveriesPerSecond != null ? String(webhook.maxDeliveriesPerSecond) : "");
  const [active, setActive] = useState(webhook?.isActive ?? true);
  const [secret, setSecret] = useState<string | undefined>();
  const [saved, setSaved] = useState<string | undefined>();

  const authInput = (): WebhookAuthInput | undefined => {
    if (auth === "KEEP") return undefined;
    if (auth === "NONE") return {};
    if (auth === "BASIC") return { basic: { username, password } };
    return { token };
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaved(undefined);
    const common = {
      url: url.trim(),
      requestMethod: method,
      eventNames: [...events],
      requestHeaders: headers.filter((h) => h.name.trim()),
      retryPolicy: policy,
      ...(policy === "FIXED" ? { retryIntervalSeconds: interval, retryWindowSeconds: windowSeconds } : {}),
      ordering: fifo ? ("FIFO" as const) : ("UNORDERED" as const),
      fifoOnFailure: pauseOnFailure ? ("PAUSE" as const) : ("CONTINUE" as const),
      maxDeliveriesPerSecond: rate.trim() ? Number(rate) : null,
      isActive: active,
      ...(authInput() ? { auth: authInput() } : {}),
    };
    if (webhook) {
      const r = await update.run({ webhookId: webhook.id, input: common });
      if (r) {
        setSaved("Saved.");
        setPassword("");
        setToken("");
        setAuth("KEEP");
        onSaved();
      }
    } else {
      const r = await create.run({ input: { ...common, ...(serviceId ? { serviceId } : {}) } });
      if (r) {
        setSecret(r.createWebhook.signingSecret);
        setSaved(`Webhook #${r.createWebhook.webhook.id} created.`);
        setUrl("");
        setEvents(new Set());
        setHeaders([]);
        onSaved();
      }
    }
  };
  const error = webhook ? update.error : create.error;
  const fieldError = (name: string) => (error?.field && error.field.endsWith(name) ? `${id}-error` : undefined);
  return (
    <form className="card" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{webhook ? `Settings of webhook #${webhook.id}` : "New webhook"}</h2>
      {me.kind === "ADMIN" && !webhook ? (
        <>
          <label htmlFor={`${id}-service`}>Service</label>
          <select id={`${id}-service`} required value={serviceId} onChange={(e) => setServiceId(e.target.value)}>
            <option value="">Choose…</option>
            {services.data?.webhookServices.data.map((s) => (
              <option key={s.id} value={s.id}>{s.title}</option>
            ))}
          </select>
        </>
      ) : null}
      <div className="grid2">
        <div>
          <label htmlFor={`${id}-url`}>URL</label>
          <input id={`${id}-url`} type="url" required value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://example.com/hooks" aria-describedby={fieldError("url")} />
        </div>
        <div>
          <label htmlFor={`${id}-method`}>Method</label>
          <select id={`${id}-method`} value={method} onChange={(e) => setMethod(e.target.value as RequestMethod)}>
            <option>POST</option>
            <option>PUT</option>
            <option>PATCH</option>
          </select>
        </div>
      </div>
      <fieldset>
        <legend>Event types</legend>
        {types.data && !types.data.webhookEvents.data.length ? <p className="muted">The catalog is empty: an admin adds event types first.</p> : null}
        <div className="checks">
          {types.data?.webhookEvents.data.map((t) => (
            <label key={t.id} className="check">
              <input
                type="checkbox"
                checked={events.has(t.name)}
                onChange={(e) => {
                  const next = new Set(events);
                  if (e.target.checked) next.add(t.name);
                  else next.delete(t.name);
                  setEvents(next);
                }}
              />
              <span className="mono">{t.name}</span>
            </label>
          ))}
        </div>
      </fieldset>
      <fieldset>
        <legend>Extra headers</legend>
        {headers.map((h, i) => (
          <div className="row" key={i}>
            <input aria-label={`Header ${i + 1} name`} value={h.name} placeholder="X-Name" onChange={(e) => setHeaders(headers.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))} />
            <input aria-label={`Header ${i + 1} value`} value={h.value} onChange={(e) => setHeaders(headers.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))} />
            <button type="button" className="secondary" onClick={() => setHeaders(headers.filter((_, j) => j !== i))} aria-label={`Remove header ${i + 1}`}>Remove</button>
          </div>
        ))}
        <button type="button" className="secondary" onClick={() => setHeaders([...headers, { name: "", value: "" }])}>Add header</button>
      </fieldset>
      <fieldset>
        <legend>Authentication (write-only)</legend>
        <label htmlFor={`${id}-auth`}>Type</label>
        <select id={`${id}-auth`} value={auth} onChange={(e) => setAuth(e.target.value as AuthChoice)}>
          {webhook ? <option value="KEEP">Keep the current ({webhook.auth.type.toLowerCase()})</option> : null}
          <option value="NONE">None</option>
          <option value="BASIC">HTTP Basic</option>
          <option value="TOKEN">Authorization header</option>
        </select>
        {auth === "BASIC" ? (
          <div className="grid2">
            <div>
              <label htmlFor={`${id}-user`}>Username</label>
              <input id={`${id}-user`} required value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="off" />
            </div>
            <div>
              <label htmlFor={`${id}-pass`}>Password</label>
              <input id={`${id}-pass`} type="password" required value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />
            </div>
          </div>
        ) : null}
        {auth === "TOKEN" ? (
          <>
            <label htmlFor={`${id}-token`}>Header value ("Bearer X", "Basic X" or a bare token)</label>
            <input id={`${id}-token`} type="password" required value={token} onChange={(e) => setToken(e.target.value)} autoComplete="new-password" />
          </>
        ) : null}
      </fieldset>
      <fieldset>
        <legend>Retries</legend>
        <label htmlFor={`${id}-policy`}>Policy</label>
        <select id={`${id}-policy`} value={policy} onChange={(e) => setPolicy(e.target.value as RetryPolicy)}>
          <option value="EXPONENTIAL">Exponential backoff</option>
          <option value="FIXED">Fixed interval</option>
        </select>
        {policy === "FIXED" ? (
          <div className="grid2">
            <div>
              <label htmlFor={`${id}-interval`}>Seconds between attempts</label>
              <input id={`${id}-interval`} type="number" min={1} required value={interval} onChange={(e) => setIntervalSeconds(Number(e.target.value))} />
            </div>
            <div>
              <label htmlFor={`${id}-window`}>Keep retrying for (seconds)</label>
              <input id={`${id}-window`} type="number" min={1} required value={windowSeconds} onChange={(e) => setWindowSeconds(Number(e.target.value))} />
            </div>
          </div>
        ) : null}
        <p className="muted" aria-live="polite" data-testid="schedule">{scheduleInWords(policy, interval, windowSeconds)}</p>
      </fieldset>
      <fieldset>
        <legend>Order and rate</legend>
        <label className="check">
          <input type="checkbox" checked={fifo} onChange={(e) => setFifo(e.target.checked)} /> FIFO: one delivery at a time, in event order
        </label>
        {fifo ? (
          <label className="check">
            <input type="checkbox" checked={pauseOnFailure} onChange={(e) => setPauseOnFailure(e.target.checked)} /> Pause the webhook when a
            delivery fails finally (otherwise the rest go on)
          </label>
        ) : null}
        <label htmlFor={`${id}-rate`}>Most deliveries per second (empty: no limit)</label>
        <input id={`${id}-rate`} type="number" min={0.01} max={10000} step="any" value={rate} onChange={(e) => setRate(e.target.value)} aria-describedby={fieldError("maxDeliveriesPerSecond")} />
      </fieldset>
      <label className="check">
        <input type="checkbox" checked={active} onChange={(e) => setActive(e.target.checked)} /> Enabled (deliveries are sent)
      </label>
      {error ? (
        <p id={`${id}-error`} className="error" role="alert">
          {error.message}
        </p>
      ) : null}
      <button type="submit" disabled={create.busy || update.busy}>{webhook ? "Save settings" : "Create webhook"}</button>
      <p role="status" className="ok">{saved}</p>
      {secret ? <SecretOnce label="Signing secret" value={secret} onDone={() => setSecret(undefined)} /> : null}
    </form>
  );
}
