import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";
import { eventually } from "./receiver.js";

/** What a live subscription received, in order, and how it ended. */
export interface Received<T> {
  readonly items: T[];
  error?: { message: string; extensions?: Record<string, unknown> }[] | Error;
  completed: boolean;
  /** The close code and reason when the whole socket was closed (4403 and friends). */
  closed?: { code: number; reason: string };
  stop(): void;
}

/** A real graphql-ws client (subprotocol graphql-transport-ws) against a gateway. */
export function wsClient(graphqlUrl: string, token: string | undefined, extra: { onClosed?: (code: number, reason: string) => void } = {}): Client {
  return createClient({
    url: graphqlUrl.replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    connectionParams: token === undefined ? {} : { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: true,
    on: {
      closed: (event) => {
        const e = event as { code: number; reason: string };
        extra.onClosed?.(e.code, e.reason);
      },
    },
  });
}

/** What collect needs of a client: graphql-ws's and graphql-sse's both have it. */
export interface Subscriber {
  subscribe(
    payload: { query: string; variables?: Record<string, unknown> },
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each client types its results its own way
    sink: { next(result: any): void; error(error: unknown): void; complete(): void },
  ): () => void;
}

/** Subscribes and collects `field` of every result (a graphql-ws or a graphql-sse client). */
export function collect<T = Record<string, unknown>>(
  client: Subscriber,
  query: string,
  variables: Record<string, unknown> = {},
  field = "eventPublished",
): Received<T> {
  const received: Received<T> = { items: [], completed: false, stop: () => undefined };
  const stop = client.subscribe(
    { query, variables },
    {
      next: (result: { data?: Record<string, T> | null; errors?: unknown }) => {
        if (result.errors) received.error = result.errors as never;
        else if (result.data) received.items.push(result.data[field]!);
      },
      error: (error) => {
        received.error = Array.isArray(error) ? (error as never) : (error as Error);
        const closeEvent = error as { code?: number; reason?: string };
        if (typeof closeEvent.code === "number") received.closed = { code: closeEvent.code, reason: closeEvent.reason ?? "" };
      },
      complete: () => {
        received.completed = true;
      },
    },
  );
  received.stop = stop;
  return received;
}

/** Waits until `received` holds `count` items (or fails with what it has). */
export async function waitForItems<T>(received: Received<T>, count: number, timeoutMs = 20_000): Promise<T[]> {
  await eventually(() => {
    if (received.error) throw new Error(`subscription failed: ${JSON.stringify(received.error)}`);
    if (received.items.length < count) throw new Error(`have ${received.items.length} of ${count}`);
    return true;
  }, timeoutMs);
  return received.items;
}

/** eventPublished with every argument as a variable (an unset variable is no filter). */
export const EVENT_PUBLISHED = `subscription Live($eventNames: [String!], $serviceId: ID, $webhookId: ID, $customerId: ID, $after: ID) {
  eventPublished(eventNames: $eventNames, serviceId: $serviceId, webhookId: $webhookId, customerId: $customerId, after: $after) {
    id cursor eventName payload createdAt
  }
}`;

export interface LiveEvent {
  readonly id: string;
  /** Where the event stands in the order subscribers see (resume with it as `after`). */
  readonly cursor: string;
  readonly eventName: string;
  readonly payload: unknown;
  readonly createdAt: string;
}

/** A subscription over SSE (POST, accept: text/event-stream): what arrived so far, as text. */
export interface SseStream {
  readonly status: number;
  text(): string;
  /** Settles when the stream ends (or is aborted). */
  readonly done: Promise<void>;
  abort(): void;
}

export async function sseSubscribe(graphqlUrl: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<SseStream> {
  const controller = new AbortController();
  const response = await fetch(graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  });
  let text = "";
  const done = (async () => {
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done: ended, value } = await reader.read();
      if (ended) return;
      text += decoder.decode(value, { stream: true });
    }
  })().catch(() => undefined);
  return { status: response.status, text: () => text, done, abort: () => controller.abort() };
}
