import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult, type GraphQLError } from "graphql";
import type { WebSocket } from "ws";

/** Turns an error into what the client may see (the gateway's error masking). */
type Mask = (error: GraphQLError) => GraphQLError;

/** Where a subscription's results go: its socket and the graphql-ws operation id. */
export interface FanoutTarget {
  readonly socket: WebSocket;
  readonly id: string;
  /** Identifies identical operations: the same document, variables, operation name and token. */
  readonly operationKey: string;
}

/** Past this many bytes waiting in a socket, a subscription stops taking events until it drains. */
const HIGH_WATER_BYTES = 1024 * 1024;

/**
 * The websocket fast path for subscriptions. graphql-ws would execute the selection once per
 * event per subscriber, stringify each result, and wait for each write; with ten thousand
 * subscribers on the same events that is most of the gateway's work. Here:
 *
 * - the source stream is made per subscriber (createSourceEventStream runs the field's subscribe,
 *   with its authorization and filters), so what a subscriber receives is never shared;
 * - the rendering of an event is: one execution and one JSON text per event for all identical
 *   operations (the live feed hands every listener the same event object, which keys the cache);
 * - each result is written straight to the socket as a graphql-ws `next` message, in order;
 * - backpressure: while the socket has more than HIGH_WATER_BYTES waiting, no further events are
 *   taken, so they wait in the subscription's bounded queue, whose overflow ends it with
 *   SLOW_CONSUMER. Memory is bounded either way.
 *
 * graphql-ws still owns the protocol: it gets an iterator that yields nothing and ends when the
 * stream ends (complete) or throws its error (error message), and it calls return() when the
 * client completes or the socket closes.
 */
export async function fanoutSubscribe(
  args: ExecutionArgs,
  target: FanoutTarget,
  mask: Mask,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const masked = (result: ExecutionResult): ExecutionResult =>
    result.errors ? { ...result, errors: result.errors.map((e) => mask(e)) } : result;
  const source = await createSourceEventStream(args);
  if (!isAsyncIterable(source)) return masked(source as ExecutionResult);
  const events = source[Symbol.asyncIterator]();

  // graphql-js' own execute, as its subscribe does per event; the document was parsed and
  // validated (query limits included) when the operation was accepted.
  const renderNow = async (event: unknown) => JSON.stringify(masked(await execute({ ...args, rootValue: event })));
  const render = (event: unknown): Promise<string> => {
    if (typeof event !== "object" || event === null) return renderNow(event);
    let byOperation = renderings.get(event);
    if (!byOperation) renderings.set(event, (byOperation = new Map()));
    let json = byOperation.get(target.operationKey);
    if (!json) byOperation.set(target.operationKey, (json = renderNow(event)));
    return json;
  };

  const { socket } = target;
  const prefix = `{"id":${JSON.stringify(target.id)},"type":"next","payload":`;
  let stopped = false;
  let failure: unknown;
  const pumped = (async () => {
    try {
      for (;;) {
        const step = await events.next();
        if (step.done || stopped) return;
        const json = await render(step.value);
        if (stopped || socket.readyState !== socket.OPEN) return;
        socket.send(prefix + json + "}");
        if (socket.bufferedAmount > HIGH_WATER_BYTES) await drained(socket);
      }
    } catch (error) {
      failure = error;
    } finally {
      // However the pump ends (socket closing, an error), the source lets go of the feed.
      await events.return?.().catch(() => undefined);
    }
  })();

  const iterator: AsyncIterableIterator<ExecutionResult> = {
    [Symbol.asyncIterator]: () => iterator,
    async next() {
      await pumped;
      if (failure !== undefined && !stopped) {
        stopped = true;
        throw failure; // graphql-ws sends it as this operation's error message
      }
      return { done: true, value: undefined };
    },
    async return() {
      stopped = true;
      await events.return?.();
      return { done: true, value: undefined };
    },
  };
  return iterator;
}

const renderings = new WeakMap<object, Map<string, Promise<string>>>();

function drained(socket: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    const raw = (socket as unknown as { _socket?: NodeJS.EventEmitter })._socket;
    if (!raw || socket.bufferedAmount <= HIGH_WATER_BYTES) return resolve();
    const done = () => {
      raw.off("drain", done);
      socket.off("close", done);
      resolve();
    };
    raw.on("drain", done);
    socket.on("close", done);
  });
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}
