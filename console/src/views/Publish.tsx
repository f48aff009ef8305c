import { useId, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "../api/hooks";
import { EventTypesDocument, PublishEventDocument } from "../gql/graphql";
import { ErrorNote } from "../ui/common";

export function Publish() {
  const id = useId();
  const types = useQuery(EventTypesDocument, { perPage: 100 });
  const publish = useMutation(PublishEventDocument);
  const [eventName, setEventName] = useState("");
  const [payload, setPayload] = useState("");
  const [customerId, setCustomerId] = useState("");
  const [payloadError, setPayloadError] = useState<string | undefined>();
  const [result, setResult] = useState<string | undefined>();
  const choose = (name: string) => {
    setEventName(name);
    const type = types.data?.webhookEvents.data.find((t) => t.name === name);
    if (type) setPayload(JSON.stringify(type.sampleData, null, 2));
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    let data: unknown;
    try {
      data = JSON.parse(payload || "{}");
      setPayloadError(undefined);
    } catch (e) {
      return setPayloadError(`Payload is not valid JSON: ${(e as Error).message}`);
    }
    const r = await publish.run({ input: { eventName, payload: data, ...(customerId.trim() ? { customerId: customerId.trim() } : {}) } });
    if (r) setResult(`Event #${r.publishEvent.event.id} stored; ${r.publishEvent.deliveryCount} deliveries queued.`);
  };
  return (
    <section>
      <h1>Publish a test event</h1>
      <form className="card" onSubmit={submit}>
        <label htmlFor={`${id}-type`}>Event type</label>
        <select id={`${id}-type`} required value={eventName} onChange={(e) => choose(e.target.value)}>
          <option value="">Choose…</option>
          {types.data?.webhookEvents.data.map((t) => (
            <option key={t.id} value={t.name}>
              {t.name}
            </option>
          ))}
        </select>
        <label htmlFor={`${id}-customer`}>Customer id (optional: only webhooks that customer registered on)</label>
        <input id={`${id}-customer`} inputMode="numeric" value={customerId} onChange={(e) => setCustomerId(e.target.value)} />
        <label htmlFor={`${id}-payload`}>Payload (JSON)</label>
        <textarea id={`${id}-payload`} className="mono" rows={8} value={payload} onChange={(e) => setPayload(e.target.value)} />
        {payloadError ? <p className="error" role="alert">{payloadError}</p> : null}
        <ErrorNote error={publish.error ?? types.error} />
        <button type="submit" disabled={publish.busy}>Publish</button>
        <p role="status" className="ok">{result}</p>
      </form>
    </section>
  );
}
