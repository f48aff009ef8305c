import { createClient, type Client as WsClient } from "graphql-ws";
import type { TypedDocumentString } from "../gql/graphql";

/** A GraphQL error as the API words it: a message, a stable code and the input field it names. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly field: string | undefined,
  ) {
    super(message);
  }
}

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "closed";

interface GraphQLPayload<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; field?: string } }[];
}

function toError<T>(payload: GraphQLPayload<T>): ApiError | undefined {
  // A field that failed on its own (SECRET_UNREADABLE: null, the rest of the data intact) is shown
  // by its view, not as the page's error.
  const first = payload.errors?.find((e) => !payload.data || e.extensions?.code !== "SECRET_UNREADABLE");
  return first ? new ApiError(first.message, first.extensions?.code, first.extensions?.field) : undefined;
}

/**
 * The console's API client: queries and mutations over HTTP (POST /graphql), subscriptions over
 * graphql-ws on the same origin. The token goes in the Authorization header and in
 * connection_init; it never appears in a URL.
 */
export class Api {
  private ws: WsClient | undefined;
  private state: ConnectionState = "closed";
  private everConnected = false;
  private active = 0;
  private readonly listeners = new Set<(state: ConnectionState) => void>();
  /** Called after every reconnect (not the first connect): live views backfill what they missed. */
  private readonly reconnectListeners = new Set<() => void>();
  /** Called when the gateway no longer takes the token (a portal session expired, a token revoked). */
  private readonly endListeners = new Set<(message: string) => void>();

  constructor(private readonly token: string) {}

  async request<TResult, TVariables>(document: TypedDocumentString<TResult, TVariables>, variables?: TVariables): Promise<TResult> {
    let response: Response;
    try {
      response = await fetch(new URL("/graphql", location.origin), {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/graphql-response+json, application/json",
          authorization: `Bearer ${this.token}`,
        },
        body: JSON.stringify({ query: document.toString(), variables: variables ?? {} }),
      });
    } catch {
      throw new ApiError("The gateway cannot be reached. Check your connection and try again.", "NETWORK", undefined);
    }
    let payload: GraphQLPayload<TResult>;
    try {
      payload = (await response.json()) as GraphQLPayload<TResult>;
    } catch {
      throw new ApiError(`The gateway answered ${response.status} without a GraphQL result.`, "HTTP", undefined);
    }
    const error = toError(payload);
    if (error?.code === "UNAUTHENTICATED") this.ended(error.message);
    if (error) throw error;
    if (!payload.data) throw new ApiError("The gateway returned no data.", "HTTP", undefined);
    return payload.data;
  }

  /** Starts a subscription; returns the function that stops it. */
  subscribe<TResult, TVariables>(
    document: TypedDocumentString<TResult, TVariables>,
    variables: TVariables,
    sink: { next(data: TResult): void; error(error: ApiError): void },
  ): () => void {
    this.active++;
    let stopped = false;
    const stop = this.socket().subscribe<TResult>(
      { query: document.toString(), variables: variables as Record<string, unknown> },
      {
        next: (payload) => {
          const error = toError(payload as GraphQLPayload<TResult>);
          if (error) sink.error(error);
          else if (payload.data) sink.next(payload.data);
        },
        error: (error) => sink.error(error instanceof ApiError ? error : new ApiError(describeSocketError(error), "SOCKET", undefined)),
        complete: () => undefined,
      },
    );
    return () => {
      if (stopped) return;
      stopped = true;
      this.active--;
      stop();
    };
  }

  connectionState(): ConnectionState {
    return this.state;
  }

  onConnectionState(listener: (state: ConnectionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  /** Listens for the end of the session: the gateway refused the token (expired, revoked). */
  onSessionEnd(listener: (message: string) => void): () => void {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  private ended(message: string): void {
    for (const listener of this.endListeners) listener(message);
  }

  close(): void {
    void this.ws?.dispose();
    this.ws = undefined;
    this.setState("closed");
  }

  private setState(state: ConnectionState): void {
    if (state === this.state) return;
    this.state = state;
    for (const listener of this.listeners) listener(state);
  }

  private socket(): WsClient {
    if (this.ws) return this.ws;
    const url = new URL("/graphql", location.origin);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    this.ws = createClient({
      url: url.toString(),
      connectionParams: { authorization: `Bearer ${this.token}` },
      lazy: true,
      keepAlive: 10_000,
      // A gateway restart or a network change must not end the live views: keep trying, with
      // graphql-ws's randomised backoff, and tell the views to backfill once back.
      retryAttempts: Number.POSITIVE_INFINITY,
      // Except when the gateway refused the token (4403: expired or revoked): the session is over.
      shouldRetry: (event) => (event as CloseEvent | undefined)?.code !== 4403,
      on: {
        connecting: () => this.setState(this.everConnected ? "reconnecting" : "connecting"),
        connected: () => {
          const again = this.everConnected;
          this.everConnected = true;
          this.setState("connected");
          if (again) for (const listener of this.reconnectListeners) listener();
        },
        // Lazy: the socket closes when the last live view goes; that is not a lost connection.
        closed: (event) => {
          const close = event as CloseEvent | undefined;
          if (close?.code === 4403) {
            this.setState("closed");
            this.ended(close.reason || "the gateway refused this token");
            return;
          }
          this.setState(this.active > 0 ? "reconnecting" : "closed");
        },
      },
    });
    return this.ws;
  }
}

function describeSocketError(error: unknown): string {
  if (Array.isArray(error)) return (error as { message?: string }[]).map((e) => e.message ?? "error").join("; ");
  if (error && typeof error === "object" && "reason" in error && (error as CloseEvent).reason) return (error as CloseEvent).reason;
  if (error instanceof Error) return error.message;
  return "the live connection failed";
}
