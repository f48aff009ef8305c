import { useState } from "react";
import { useMutation, useQuery } from "../api/hooks";
import { AvailableWebhooksDocument, RegisterDocument, RegisteredWebhooksDocument, UnregisterDocument } from "../gql/graphql";
import type { Me } from "../session";
import { Empty, ErrorNote, Loading } from "../ui/common";

/** What a service hands to its own users: the webhooks they may register on, and theirs. */
export function CustomerHome({ me }: { me: Me }) {
  const available = useQuery(AvailableWebhooksDocument, { perPage: 100 });
  const registered = useQuery(RegisteredWebhooksDocument, { perPage: 100 });
  const register = useMutation(RegisterDocument);
  const unregister = useMutation(UnregisterDocument);
  const [note, setNote] = useState<string | undefined>();
  const mine = new Set(registered.data?.registeredWebhooks.data.map((w) => w.id));
  const webhooks = available.data?.webhooks.data ?? [];
  return (
    <section>
      <h1>Webhooks for {me.customer?.name || `customer #${me.customer?.id ?? ""}`}</h1>
      <p className="muted">Register on a webhook to have your events delivered there.</p>
      <ErrorNote error={available.error ?? registered.error ?? register.error ?? unregister.error} />
      {!available.data && available.loading ? <Loading what="webhooks" /> : null}
      {available.data && !webhooks.length ? <Empty>No webhook is open for registration yet.</Empty> : null}
      <ul className="cards">
        {webhooks.map((w) => (
          <li key={w.id} className="card">
            <h2>{w.service.title}</h2>
            <p className="mono url">{w.url}</p>
            <p>Events: {w.eventTypes.map((t) => t.name).join(", ") || "none"}</p>
            {mine.has(w.id) ? (
              <button
                type="button"
                className="secondary"
                disabled={unregister.busy}
                onClick={async () => {
                  if (await unregister.run({ webhookId: w.id, customerId: me.customer!.id })) {
                    setNote(`Unregistered from webhook #${w.id}.`);
                    registered.reload();
                  }
                }}
              >
                Unregister
              </button>
            ) : (
              <button
                type="button"
                disabled={register.busy}
                onClick={async () => {
                  if (await register.run({ webhookId: w.id })) {
                    setNote(`Registered on webhook #${w.id}.`);
                    registered.reload();
                  }
                }}
              >
                Register
              </button>
            )}
            <span className="muted">{mine.has(w.id) ? " Registered" : ""}</span>
          </li>
        ))}
      </ul>
      <p role="status" className="ok">{note}</p>
    </section>
  );
}
