import { useId, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "../api/hooks";
import { CreateEventTypeDocument, EventTypesDocument, UpdateEventTypeDocument, type EventTypeFieldsFragment } from "../gql/graphql";
import { Empty, ErrorNote, JsonBlock, Loading } from "../ui/common";

/** The catalog: create event types, or edit one's description, sample payload and scopes (not its name). */
export function EventTypes() {
  const id = useId();
  const list = useQuery(EventTypesDocument, { perPage: 100 });
  const create = useMutation(CreateEventTypeDocument);
  const update = useMutation(UpdateEventTypeDocument);
  const [editing, setEditing] = useState<EventTypeFieldsFragment | undefined>();
  const [saved, setSaved] = useState<string | undefined>();
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
    const fields = { description, sampleData, scopes: scopes.split(/[\s,]+/).filter(Boolean) };
    const result = editing
      ? await update.run({ eventTypeId: editing.id, input: fields })
      : await create.run({ input: { name: name.trim(), ...fields } });
    if (!result) return;
    setSaved(editing ? `Saved ${editing.name}.` : `Created ${name.trim()}.`);
    setEditing(undefined);
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
        <h2 id={`${id}-new`}>{editing ? `Edit ${editing.name}` : "New event type"}</h2>
        <div className="grid2">
          <div>
            <label htmlFor={`${id}-name`}>Name</label>
            <input id={`${id}-name`} required={!editing} disabled={!!editing} value={editing ? editing.name : name} onChange={(e) => setName(e.target.value)} placeholder="order.created" />
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
        <ErrorNote error={editing ? update.error : create.error} />
        <div className="actions">
          <button type="submit" disabled={create.busy || update.busy}>{editing ? "Save event type" : "Create event type"}</button>
          {editing ? (
            <button type="button" className="secondary" onClick={() => { setEditing(undefined); setDescription(""); setSample("{\n  \n}"); setScopes(""); }}>
              Cancel
            </button>
          ) : null}
        </div>
        <p role="status" className="ok">{saved}</p>
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
              aria-label={`Edit ${t.name}`}
              onClick={() => {
                setEditing(t);
                setSaved(undefined);
                setDescription(t.description);
                setSample(JSON.stringify(t.sampleData, null, 2));
                setScopes(t.scopes.join(", "));
                document.getElementById(`${id}-desc`)?.focus();
              }}
            >
              Edit
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
