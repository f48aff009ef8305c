// README.md runs as written: every ```graphql block, in the order the README gives them, against a
// fresh gateway over HTTP (a real POST to /graphql), with the token each operation's comment names.
// The convention (README.md, Development):
//   - a block is one or more operations, run one by one, top to bottom;
//   - a comment line `# admin`, `# service token` or `# customer token` (anything may follow it)
//     says which token the operations below it use, up to the next such line; every block says it
//     before its first operation. "service token" is the token the last `createWebhookService`
//     above returned, "customer token" the one the last `createCustomer` returned;
//   - ids are written as a fresh gateway hands them out when the blocks run in order ("1", "2", …);
//   - a `subscription` block is run over graphql-ws and must deliver an event of a type named in
//     its `eventNames`, which the test publishes.
// Every `curl` command of a ```sh block runs too, with the real curl, the test gateway's origin in
// place of http://127.0.0.1:4000 and the admin token in place of hg_admin_…; the comment line
// after it (`# {"data": …}`) is the answer it must print.
// Any GraphQL error fails the test, named after the README line it came from.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { join } from "node:path";
import { Kind, parse, type ArgumentNode, type OperationDefinitionNode } from "graphql";
import type { Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { collect, wsClient } from "../support/live.js";
import { eventually } from "../support/receiver.js";
import { needsProgram } from "../support/servers.js";
import { storeKind } from "../support/store.js";

type Who = "admin" | "service token" | "customer token";

interface Operation {
  /** README line of the operation's first line. */
  readonly line: number;
  readonly kind: "query" | "mutation" | "subscription";
  readonly text: string;
  readonly node: OperationDefinitionNode;
  readonly who: Who | undefined;
}

interface Block {
  /** README line of the opening fence. */
  readonly line: number;
  readonly operations: Operation[];
  /** Why the block cannot be run (it does not parse, has no operation). */
  readonly problem?: string;
}

const README = join(import.meta.dirname, "..", "..", "README.md");
const TOKEN_COMMENT = /^#\s*(admin|service token|customer token)\b/;

/** Every ```graphql block of the README, split into its operations, each with the token it names. */
function readmeBlocks(markdown: string): Block[] {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== "```graphql") continue;
    const start = i + 1; // README line number (1-based) of the fence
    const body: string[] = [];
    for (i++; i < lines.length && lines[i]!.trim() !== "```"; i++) body.push(lines[i]!);
    const source = body.join("\n");
    let document;
    try {
      document = parse(source);
    } catch (error) {
      blocks.push({ line: start, operations: [], problem: `does not parse: ${(error as Error).message}` });
      continue;
    }
    const lineStarts = body.reduce<number[]>((acc, l) => [...acc, acc.at(-1)! + l.length + 1], [0]);
    const operations: Operation[] = [];
    for (const node of document.definitions) {
      if (node.kind !== Kind.OPERATION_DEFINITION) continue;
      const first = lineStarts.findLastIndex((offset) => offset <= node.loc!.start);
      const who = body
        .slice(0, first)
        .map((l) => TOKEN_COMMENT.exec(l.trim())?.[1] as Who | undefined)
        .filter(Boolean)
        .at(-1);
      operations.push({ line: start + 1 + first, kind: node.operation, text: source.slice(node.loc!.start, node.loc!.end), node, who });
    }
    blocks.push({ line: start, operations, ...(operations.length ? {} : { problem: "has no operation" }) });
  }
  return blocks;
}

interface Curl {
  /** README line of the command's first line. */
  readonly line: number;
  readonly command: string;
  /** The answer the README shows (the `# …` line after the command), if any. */
  readonly answer: string | undefined;
}

/** Every curl command of the README's ```sh blocks (continued lines joined), with its shown answer. */
function readmeCurls(markdown: string): Curl[] {
  const lines = markdown.split("\n");
  const curls: Curl[] = [];
  let inSh = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (l.startsWith("```")) {
      inSh = !inSh && l === "```sh";
      continue;
    }
    if (!inSh || !l.startsWith("curl ")) continue;
    const line = i + 1;
    let command = lines[i]!;
    while (command.endsWith("\\") && i + 1 < lines.length) command = `${command.slice(0, -1)} ${lines[++i]!.trim()}`;
    const next = lines[i + 1]?.trim();
    curls.push({ line, command, answer: next?.startsWith("# ") ? next.slice(2) : undefined });
  }
  return curls;
}

/** The string values of a list argument written as a literal (`eventNames: ["a", "b"]`). */
function stringList(args: readonly ArgumentNode[] | undefined, name: string): string[] {
  const value = args?.find((a) => a.name.value === name)?.value;
  if (value?.kind !== Kind.LIST) return [];
  return value.values.flatMap((v) => (v.kind === Kind.STRING ? [v.value] : []));
}

const markdown = readFileSync(README, "utf8");
const blocks = readmeBlocks(markdown);
const curls = readmeCurls(markdown);

// The README does not depend on the store: one project is enough.
const run = storeKind() === "pglite";
const withCurl = run && needsProgram("test/docs/readme.test.ts, the README's curl examples", "curl");

describe.runIf(run)("README.md's GraphQL blocks, in order, on a fresh gateway", () => {
  let t: TestGateway;
  const tokens: Partial<Record<Who, string>> = {};
  const clients: Client[] = [];

  beforeAll(async () => {
    t = await startTestGateway();
    tokens.admin = t.admin.token!;
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await t?.close();
  });

  it("finds the README's blocks and its first request (curl)", () => {
    expect(blocks.length).toBeGreaterThan(5);
    expect(curls.length).toBeGreaterThan(0);
  });

  for (const curl of curls) {
    it.runIf(withCurl)(`README.md:${curl.line} curl prints the answer shown`, async () => {
      if (!curl.answer) throw new Error(`README.md:${curl.line}: no "# <answer>" line after this curl command`);
      const origin = new URL(t.gateway.url!).origin;
      const command = curl.command.replaceAll("http://127.0.0.1:4000", origin).replaceAll("hg_admin_…", t.admin.token!);
      if (!command.includes(origin)) throw new Error(`README.md:${curl.line}: the command does not call http://127.0.0.1:4000`);
      const { stdout } = await promisify(execFile)("sh", ["-c", command]);
      expect(JSON.parse(stdout), `README.md:${curl.line}`).toEqual(JSON.parse(curl.answer));
    });
  }

  /** The token an operation names, or an error saying what is missing. */
  function tokenFor(op: Operation): string {
    if (!op.who) {
      throw new Error(`README.md:${op.line}: no token comment above this ${op.kind} in its block (a line "# admin", "# service token" or "# customer token"; see README.md, Development)`);
    }
    const token = tokens[op.who];
    if (!token) {
      const from = op.who === "service token" ? "createWebhookService" : "createCustomer";
      throw new Error(`README.md:${op.line}: the ${op.who} is used before any ${from} { token } above it returned one`);
    }
    return token;
  }

  /** Remembers the tokens a createWebhookService or createCustomer returned. */
  function keepTokens(data: Record<string, unknown>): void {
    for (const [field, value] of Object.entries(data)) {
      const token = (value as { token?: unknown } | null)?.token;
      if (typeof token !== "string") continue;
      if (field === "createWebhookService") tokens["service token"] = token;
      if (field === "createCustomer") tokens["customer token"] = token;
    }
  }

  for (const block of blocks) {
    if (block.problem) {
      it(`README.md:${block.line} graphql block`, () => {
        throw new Error(`README.md:${block.line}: the graphql block ${block.problem}`);
      });
      continue;
    }
    for (const op of block.operations) {
      if (op.kind === "subscription") {
        it(`README.md:${op.line} subscription over graphql-ws (${op.who ?? "no token comment"}) delivers a published event`, async () => {
          const token = tokenFor(op);
          const field = op.node.selectionSet.selections[0];
          const eventNames = field?.kind === Kind.FIELD ? stringList(field.arguments, "eventNames") : [];
          if (field?.kind !== Kind.FIELD || field.name.value !== "eventPublished" || eventNames.length === 0) {
            throw new Error(`README.md:${op.line}: the doc test runs eventPublished subscriptions with a literal eventNames list (it publishes an event of the first name)`);
          }
          const client = wsClient(t.gateway.url!, token);
          clients.push(client);
          const received = collect<{ eventName: string }>(client, op.text);
          // When the server has registered the subscription is not observable from here: publish
          // until one arrives (each try a new event), then stop.
          await eventually(async () => {
            if (received.error) throw new Error(`README.md:${op.line}: ${JSON.stringify(received.error)}`);
            if (received.items.length > 0) return true;
            const published = await t.admin.raw(`mutation($name: String!) { publishEvent(input: { eventName: $name, payload: { docTest: true } }) { deliveryCount } }`, { name: eventNames[0] });
            if (published.errors?.length) throw new Error(`README.md:${op.line}: publishing ${eventNames[0]} failed: ${JSON.stringify(published.errors)}`);
            await new Promise((resolve) => setTimeout(resolve, 100));
            return received.items.length > 0;
          }, 20_000, () => `README.md:${op.line}: nothing received (${JSON.stringify(received.error ?? null)})`);
          expect(received.items[0]!.eventName).toBe(eventNames[0]);
          received.stop();
        });
        continue;
      }
      it(`README.md:${op.line} ${op.kind} (${op.who ?? "no token comment"})`, async () => {
        const token = tokenFor(op);
        const response = await fetch(t.gateway.url!, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/graphql-response+json", authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: op.text }),
        });
        const body = (await response.json()) as { data?: Record<string, unknown> | null; errors?: unknown[] };
        if (response.status !== 200 || body.errors?.length || !body.data) {
          throw new Error(`README.md:${op.line}: HTTP ${response.status}, ${JSON.stringify(body.errors ?? body)}\n${op.text}`);
        }
        keepTokens(body.data);
      });
    }
  }
});
