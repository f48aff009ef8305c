import { useId, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "../api/hooks";
import { CreateServiceDocument, ServicesDocument } from "../gql/graphql";
import { Empty, ErrorNote, Loading, SecretOnce, time } from "../ui/common";

export function Services() {
  const id = useId();
  const list = useQuery(ServicesDocument, { perPage: 100 });
  const create = useMutation(CreateServiceDocument);
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [token, setToken] = useState<{ title: string; token: string } | undefined>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await create.run({ input: { title, description } });
    if (!result) return;
    setToken({ title: result.createWebhookService.service.title, token: result.createWebhookService.token });
    setTitle("");
    setDescription("");
    list.reload();
  };
  return (
    <section>
      <h1>Services</h1>
      <form className="card" onSubmit={submit} aria-labelledby={`${id}-new`}>
        <h2 id={`${id}-new`}>New service</h2>
        <div className="grid2">
          <div>
            <label htmlFor={`${id}-title`}>Title</label>
            <input id={`${id}-title`} required value={title} onChange={(e) => setTitle(e.target.value)} />
          </div>
          <div>
            <label htmlFor={`${id}-desc`}>Description</label>
            <input id={`${id}-desc`} value={description} onChange={(e) => setDescription(e.target.value)} />
          </div>
        </div>
        <ErrorNote error={create.error} />
        <button type="submit" disabled={create.busy}>Create service</button>
      </form>
      {token ? <SecretOnce label={`API token of ${token.title}`} value={token.token} onDone={() => setToken(undefined)} /> : null}
      <ErrorNote error={list.error} />
      {!list.data && list.loading ? <Loading what="services" /> : null}
      {list.data && !list.data.webhookServices.data.length ? <Empty>No services yet. Create the first one above.</Empty> : null}
      {list.data && list.data.webhookServices.data.length ? (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Services</caption>
            <thead>
              <tr>
                <th scope="col">Id</th>
                <th scope="col">Title</th>
                <th scope="col">Description</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {list.data.webhookServices.data.map((s) => (
                <tr key={s.id}>
                  <td>{s.id}</td>
                  <td>{s.title}</td>
                  <td>{s.description || <span className="muted">—</span>}</td>
                  <td>{time(s.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
