// GraphiQL as a new user meets it, in a real headless Chromium (Debian's, driven by playwright-core;
// no browser is downloaded): the page renders from the gateway alone (no request leaves
// 127.0.0.1, so it works offline), shows the default query and the headers hint, runs a query
// runs a query with a token typed into the headers tab, and runs a subscription whose events,
// published through the API, appear in the response pane.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PublishEventDocument } from "../generated/graphql.js";
import { launchBrowser, type TestBrowser } from "../support/browser.js";
import { createEventType } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { needsChromium } from "../support/servers.js";
import { storeKind } from "../support/store.js";

// The page does not depend on the store: one project is enough.
const run = storeKind() === "pglite" && needsChromium("test/server/graphiql.test.ts");

describe.runIf(run)("GraphiQL in a headless browser", () => {
  let t: TestGateway;
  let browser: TestBrowser;
  let page: Page;
  const requested: string[] = [];

  beforeAll(async () => {
    t = await startTestGateway();
  });

  beforeAll(async () => {
    browser = await launchBrowser();
    page = browser.context.pages()[0] ?? (await browser.newPage());
    page.on("request", (request) => requested.push(request.url()));
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** Replaces the whole text of the Monaco editor inside `selector` (insertText: no auto-closed brackets). */
  async function replaceEditorText(selector: string, text: string): Promise<void> {
    await page.locator(selector).first().click();
    await page.keyboard.press("Control+A");
    await page.keyboard.press("Delete");
    await page.keyboard.insertText(text);
  }

  /** An element's text as read: Monaco renders spaces as no-break spaces. */
  const text = async (selector: string) => (await page.locator(selector).innerText()).replace(/\u00a0/g, " ");
  const response = () => text(".graphiql-response");
  const HEADERS_EDITOR = '.graphiql-editor-tool .monaco-editor[data-uri*="headers"]';
  const QUERY_EDITOR = ".graphiql-query-editor .monaco-editor";

  it("renders from the gateway alone, with the default query and the headers hint", async () => {
    await page.goto(t.gateway.url!);
    await page.locator(".graphiql-query-editor .monaco-editor").first().waitFor({ timeout: 30_000 });
    await expect.poll(() => text(".graphiql-query-editor"), { timeout: 30_000 }).toContain("query FirstLook");
    expect(await text(".graphiql-editor-tool")).toContain('"Authorization": "Bearer …"');
    const elsewhere = requested.filter((url) => !/^(http:\/\/127\.0\.0\.1:\d+\/|data:|blob:)/.test(url));
    expect(elsewhere).toEqual([]);
    expect(requested.length).toBeGreaterThan(0);
  });

  it("runs a query with the token put in the headers tab", async () => {
    const token = t.admin.token!;
    await replaceEditorText(HEADERS_EDITOR, JSON.stringify({ Authorization: `Bearer ${token}` }));
    await replaceEditorText(QUERY_EDITOR, "{ me { kind } }");
    await expect.poll(() => text(QUERY_EDITOR), { timeout: 30_000 }).toContain("{ me { kind } }");
    await runUntilResponseShows('"kind": "ADMIN"');
  });

  it("runs a subscription: events published through the API appear in the response pane", async () => {
    const type = await createEventType(t);
    const subscription = `subscription { eventPublished(eventNames: ["${type.name}"]) { id eventName payload } }`;
    await replaceEditorText(HEADERS_EDITOR, JSON.stringify({ Authorization: `Bearer ${t.admin.token!}` }));
    await replaceEditorText(QUERY_EDITOR, subscription);
    await expect.poll(() => text(QUERY_EDITOR), { timeout: 30_000 }).toContain(subscription);
    // When the server has registered the page's subscription is not observable from here: each
    // poll publishes one more event until one is shown.
    let n = 0;
    await runUntilResponseShows('"marker": "graphiql-live-', async () => {
      await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { marker: `graphiql-live-${++n}` } } });
    });
    expect(await response()).toContain(`"eventName": "${type.name}"`);
  });

  /**
   * Runs the editor's operation and waits until the response pane shows `expected`, calling
   * `eachPoll` (if given) on every look. GraphiQL reads the operation name from the editor a moment
   * after it changes; a run before that asks for the previous document's operation and fails in
   * the page without a request. Run again after such a failure only (a second click while an
   * operation runs would cancel it).
   */
  async function runUntilResponseShows(expected: string, eachPoll?: () => Promise<void>): Promise<void> {
    let runs = 0;
    await expect
      .poll(
        async () => {
          const shown = await response();
          if (runs === 0 || shown.includes("Cannot infer operation")) {
            runs++;
            await page.locator(".graphiql-execute-button").click();
          } else {
            await eachPoll?.();
          }
          return shown;
        },
        { timeout: 30_000 },
      )
      .toContain(expected);
  }
});
