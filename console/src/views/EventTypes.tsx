import { useId, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "../api/hooks";
import { CreateEventTypeDocument, EventTypesDocument } from "../gql/graphql";
import { Empty, ErrorNote, JsonBlock, Loading } from "../ui/common";

/**
 * The catalog. The API has createEventType and no update yet, so "edit" here means: create the
 * next type from an existing one (its description, sample and scopes prefilled).
 */
export function EventTypes() {
  const id = useId();
  const list = useQuery(EventTypesDocument, { perPage: 100 });
  const create = useMutation(CreateEventTypeDocument);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [sample, setSample] = useState("{\n  \n}");
  const [scopes, setScopes] = useState("");
  const [sampleError, setSampleError] = useState<string | undefined>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    let sampleData: unknown;
    try {
      sampleData = sample.trim() ? JSON.parse(sample) : {};
      setSampleError(undefined);
    } catch (e) {
      return setSampleError(`Sample data is not valid JSON: ${(e as Error).message}`);
    }
    const result = await create.run({
      input: { name: name.trim(), description, sampleData, scopes: scopes.split(/[\s,]+/).filter(Boolean) },
    });
    if (!result) return;
    setName("");
    setDescription("");
    setSample("{\n  \n}");
    setScopes("");
    list.reload();
  };
  return (
    <section>
      <h1>Event types</h1>
      <form className="card" onSubmit={submit} aria-labelledby={`${id}-new`}>
        <h2 id={`${id}-new`}>New event type</h2>
        <div className="grid2">
          <div>
            <label htmlFor={`${id}-name`}>Name</label>
            <input id={`${id}-name`} required value={name} onChange={(e) => setName(e.target.value)} placeholder="order.created" />
          </div>
          <div>
            <label htmlFor={`${id}-scopes`}>Scopes (comma or space separated)</label>
            <input id={`${id}-scopes`} value={scopes} onChange={(e) => setScopes(e.target.value)} placeholder="customer.order.read" />
          </div>
        </div>
        <label htmlFor={`${id}-desc`}>Description</label>
        <input id={`${id}-desc`} value={description} onChange={(e) => setDescription(e.target.value)} />
        <label htmlFor={`${id}-sample`}>Sample data (JSON, used by test events)</label>
        <textarea
          id={`${id}-sample`}
          className="mono"
          rows={6}
          value={sample}
          onChange={(e) => setSample(e.target.value)}
          aria-invalid={sampleError ? true : undefined}
        />
        {sampleError ? <p className="error" role="alert">{sampleError}</p> : null}
        <ErrorNote error={create.error} />
        <button type="submit" disabled={create.busy}>Create event type</button>
      </form>
      <ErrorNote error={list.error} />
      {!list.data && list.loading ? <Loading what="event types" /> : null}
      {list.data && !list.data.webhookEvents.data.length ? <Empty>The catalog is empty. Add the first event type above.</Empty> : null}
      <ul className="cards">
        {list.data?.webhookEvents.data.map((t) => (
          <li key={t.id} className="card">
            <h2 className="mono">{t.name}</h2>
            <p>{t.description || <span className="muted">No description</span>}</p>
            <p>
              Scopes: {t.scopes.length ? t.scopes.map((s) => <code key={s}>{s} </code>) : <span className="muted">none</span>}
            </p>
            <details>
              <summary>Sample data</summary>
              <JsonBlock value={t.sampleData} label={`Sample data of ${t.name}`} />
            </details>
            <button
              type="button"
              className="secondary"
              onClick={() => {
                setDescription(t.description);
                setSample(JSON.stringify(t.sampleData, null, 2));
                setScopes(t.scopes.join(", "));
                setName("");
                document.getElementById(`${id}-name`)?.focus();
              }}
            >
              Use as template
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
