import { useId, useState, type FormEvent } from "react";
import { useMutation } from "../api/hooks";
import { CreateCustomerDocument } from "../gql/graphql";
import { ErrorNote, SecretOnce } from "../ui/common";

/** The API lists customers per webhook only (webhookCustomers), so this page creates them. */
export function Customers() {
  const id = useId();
  const create = useMutation(CreateCustomerDocument);
  const [name, setName] = useState("");
  const [externalId, setExternalId] = useState("");
  const [created, setCreated] = useState<{ id: string; name: string; token: string }[]>([]);
  const [shown, setShown] = useState<string | undefined>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await create.run({ input: { name, ...(externalId.trim() ? { externalId: externalId.trim() } : {}) } });
    if (!result) return;
    const c = result.createCustomer;
    setCreated((list) => [{ id: c.customer.id, name: c.customer.name, token: c.token }, ...list]);
    setShown(c.customer.id);
    setName("");
    setExternalId("");
  };
  const current = created.find((c) => c.id === shown);
  return (
    <section>
      <h1>Customers</h1>
      <form className="card" onSubmit={submit} aria-labelledby={`${id}-new`}>
        <h2 id={`${id}-new`}>New customer</h2>
        <div className="grid2">
          <div>
            <label htmlFor={`${id}-name`}>Name</label>
            <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} />
          </div>
          <div>
            <label htmlFor={`${id}-ext`}>External id (your platform's id, optional)</label>
            <input id={`${id}-ext`} value={externalId} onChange={(e) => setExternalId(e.target.value)} />
          </div>
        </div>
        <ErrorNote error={create.error} />
        <button type="submit" disabled={create.busy}>Create customer</button>
      </form>
      {current ? <SecretOnce label={`API token of customer ${current.name || current.id}`} value={current.token} onDone={() => setShown(undefined)} /> : null}
      {created.length ? (
        <>
          <h2>Created in this session</h2>
          <ul>
            {created.map((c) => (
              <li key={c.id}>
                #{c.id} {c.name}
              </li>
            ))}
          </ul>
        </>
      ) : (
        <p className="empty">Customers are listed per webhook (on a webhook's page). Create one above to get its token.</p>
      )}
    </section>
  );
}
