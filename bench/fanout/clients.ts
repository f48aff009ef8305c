// The subscriber side of bench:fanout, in its own process: N websocket connections that speak
// graphql-transport-ws by hand (as little client work as possible, the same for both servers).
// Each message carries the publisher's send time; the client keeps one latency per message.
// Driven by its parent over IPC: { connect }, { reset }, { report }, { close }.
import WebSocket from "ws";

interface Connect {
  readonly type: "connect";
  readonly url: string;
  readonly count: number;
  readonly token: string;
  readonly query: string;
  /** "graphql-ws": init + subscribe; "raw": nothing to say, just listen. */
  readonly protocol: "graphql-ws" | "raw";
}

const sockets: WebSocket[] = [];
let received = 0;
let latencies: number[] = [];
let lastAt = 0;
let errors = 0;
const now = () => performance.timeOrigin + performance.now();

function onMessage(data: WebSocket.RawData): void {
  const text = data.toString();
  // {"...":"next"...,"t":<ms>...}: find the send time without parsing the whole message.
  const at = text.indexOf('"t":');
  if (at < 0) {
    if (text.includes('"error"')) errors++;
    return;
  }
  const t = Number.parseFloat(text.slice(at + 4, text.indexOf("}", at)));
  const arrived = now();
  latencies.push(arrived - t);
  received++;
  lastAt = arrived;
}

async function connect(msg: Connect): Promise<void> {
  const batch = 200; // open in waves so the server's accept queue is not flooded
  for (let i = 0; i < msg.count; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, msg.count - i) }, () => open(msg)),
    );
  }
}

function open(msg: Connect): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = msg.protocol === "graphql-ws" ? new WebSocket(msg.url, "graphql-transport-ws") : new WebSocket(msg.url);
    ws.on("error", reject);
    ws.on("open", () => {
      sockets.push(ws);
      if (msg.protocol === "raw") {
        ws.on("message", onMessage);
        return resolve();
      }
      ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${msg.token}` } }));
      ws.once("message", (data) => {
        if (!String(data).includes("connection_ack")) return reject(new Error(`no ack: ${String(data)}`));
        ws.on("message", onMessage);
        ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: msg.query } }));
        resolve();
      });
    });
  });
}

process.on("message", (msg: { type: string } & Partial<Connect>) => {
  void (async () => {
    if (msg.type === "connect") {
      await connect(msg as Connect);
      process.send!({ type: "connected", count: sockets.length });
    } else if (msg.type === "reset") {
      received = 0;
      latencies = [];
      errors = 0;
      process.send!({ type: "reset" });
    } else if (msg.type === "report") {
      process.send!({ type: "report", received, lastAt, errors, latencies: msg.count ? latencies : [] });
    } else if (msg.type === "close") {
      for (const ws of sockets) ws.terminate();
      process.exit(0);
    }
  })().catch((error: unknown) => {
    process.send!({ type: "error", message: String(error) });
  });
});
