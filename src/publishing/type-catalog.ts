import type { SqlQuery } from "../store/database.js";

/** What the publisher knows of an event type before publishing: its payload schema, and the schema's version. */
export interface CatalogEntry {
  readonly id: number;
  readonly name: string;
  readonly version: number;
  /** The JSON Schema as text; null: any payload. */
  readonly schemaText: string | null;
}

const LOOKUP = {
  name: "hookgate_event_type_catalog",
  text: `SELECT id, name, json_schema_version AS version, json_schema::text AS schema
FROM event_types WHERE name = ANY($1::text[]) OR id = ANY($2::int[])`,
};

/** How a publish request names its event type: by name, or else by id (a PublishRequest is one). */
export interface EventTypeRef {
  readonly eventName?: string | null;
  readonly eventTypeId?: number | null;
}

/**
 * The event types' payload schemas, cached per process so a publish reads none of them. A cached
 * entry may be stale (another process changed the schema): the publish statement compares the
 * version a payload was checked against with the current one and stores nothing when they
 * differ; the publisher then forgets the entry and checks again.
 */
export class EventTypeCatalog {
  private readonly byName = new Map<string, CatalogEntry>();
  private readonly byId = new Map<number, CatalogEntry>();

  constructor(private readonly sql: SqlQuery) {}

  /** The entry of each request's event type (undefined: no such type), reading only the uncached ones. */
  async lookup(requests: readonly EventTypeRef[]): Promise<(CatalogEntry | undefined)[]> {
    const names = new Set<string>();
    const ids = new Set<number>();
    for (const r of requests) {
      if (r.eventName != null && !this.byName.has(r.eventName)) names.add(r.eventName);
      else if (r.eventTypeId != null && !this.byId.has(r.eventTypeId)) ids.add(r.eventTypeId);
    }
    if (names.size || ids.size) {
      const rows = await this.sql.query<{ id: number; name: string; version: number; schema: string | null }>(
        LOOKUP.text,
        [[...names], [...ids]],
        LOOKUP.name,
      );
      for (const row of rows) {
        const entry: CatalogEntry = { id: Number(row.id), name: row.name, version: Number(row.version), schemaText: row.schema };
        this.byName.set(row.name, entry);
        this.byId.set(entry.id, entry);
      }
    }
    return requests.map((r) => (r.eventName != null ? this.byName.get(r.eventName) : this.byId.get(r.eventTypeId!)));
  }

  /** Forgets an event type whose schema changed, so the next lookup reads it again. */
  forget(typeId: number): void {
    this.byId.delete(typeId);
    for (const [name, entry] of this.byName) if (entry.id === typeId) this.byName.delete(name);
  }
}
