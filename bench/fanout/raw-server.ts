// The baseline of bench:fanout: a plain `ws` server that broadcasts each published payload to
// every connected socket, in the shape graphql-ws gives a subscription result. POST /publish
// with a JSON payload; prints its port.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const payload = JSON.parse(Buffer.concat(chunks).toString()) as { id: string; payload: unknown };
    const message = JSON.stringify({ id: "1", type: "next", payload: { data: { eventPublished: payload } } });
    for (const socket of wss.clients) socket.send(message);
    res.writeHead(200).end("{}");
  });
});
const wss = new WebSocketServer({ server, path: "/graphql" });
server.listen(0, "127.0.0.1", () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
process.on("SIGTERM", () => process.exit(0));
