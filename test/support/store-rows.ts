import type { SqlClient } from "../../src/store/database.js";

/**
 * The fewest rows a delivery needs, written with plain SQL (for tests that work below the API,
 * on the store itself): service 1, event type 1 ("t"), webhook 1 and event 1. Works on every
 * schema since the event_name migration.
 */
export async function insertWebhookAndEvent(sql: SqlClient): Promise<void> {
  await sql.exec(`
    INSERT INTO services (id, title, token_hash, updated_at) VALUES (1, 's', 'h', now());
    INSERT INTO event_types (id, name, sample_data) VALUES (1, 't', '{}');
    INSERT INTO webhooks (id, service_id, url, request_headers_sealed, signing_secret_sealed, updated_at)
      VALUES (1, 1, 'https://receiver.example/hook', 'x', 'x', now());
    INSERT INTO events (id, event_type_id, event_name, payload) VALUES (1, 1, 't', '{}');
  `);
}

/**
 * A real refusal by the store for some payloads: a trigger raising an exception (SQLSTATE P0001)
 * for any event whose payload text contains "explode", as a check constraint an operator added
 * would.
 */
export async function refuseExplodingEvents(sql: SqlClient): Promise<void> {
  await sql.exec(`
    CREATE FUNCTION refuse_exploding() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.payload_text LIKE '%explode%' THEN RAISE EXCEPTION 'refused by a test trigger'; END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER refuse_exploding BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_exploding();`);
}
