import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Locator, type Page } from "playwright-core";
import { createRequire } from "node:module";
import { chromiumPath } from "./servers.js";

/** Debian's chromium (or CHROMIUM_PATH); playwright-core never downloads a browser here. */
export const CHROMIUM = chromiumPath();

/**
 * Whether the browser tests can run: without chromium they are skipped with one line saying
 * so, except in CI (CI=true), where a missing browser is a failure (.ci/run installs it).
 */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === "true") throw new Error(`${CHROMIUM} is missing (CI=true): .ci/run installs it with apt-get`);
  console.log(`console browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
  return false;
}

/** The built console (npm install builds it); built here when missing, e.g. after a clean. */
export function ensureConsoleBuilt(): void {
  const root = join(import.meta.dirname, "..", "..");
  if (!existsSync(join(root, "console", "dist", "index.html"))) {
    execFileSync(process.execPath, [join(root, "scripts", "build-console.mjs")], { cwd: root, stdio: "inherit" });
  }
}

export interface TestBrowser {
  readonly context: BrowserContext;
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

/** Headless chromium with a fresh profile, no network beyond what the page asks of loopback. */
export async function launchBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), "hookgate-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 860 },
  });
  return {
    context,
    newPage: async (viewport) => {
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      return page;
    },
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
    },
  };
}

/** Signs in through the form, as a person pastes a token. */
export async function signInWith(page: Page, origin: string, token: string): Promise<void> {
  await page.goto(`${origin}/console/`);
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/**
 * Runs axe-core in the page. It is evaluated through the devtools protocol, not added as a
 * <script>: the console's CSP (rightly) refuses inline scripts, and the test keeps that CSP on.
 */
export async function axeScan(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
}

/** Waits until the first element of the locator contains the text (the page updates on its own). */
export async function waitForText(locator: Locator, text: string, timeoutMs = 10_000): Promise<void> {
  let last = "";
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    last = (await locator.first().textContent({ timeout: Math.max(1, deadline - Date.now()) }).catch(() => null)) ?? "";
    if (last.includes(text)) return;
    if (Date.now() > deadline) throw new Error(`"${text}" did not appear within ${timeoutMs} ms; the element says "${last.slice(0, 300)}"`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until the locator matches exactly `count` elements. */
export async function waitForCount(locator: Locator, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await locator.count();
    if (n === count) return;
    if (Date.now() > deadline) throw new Error(`expected ${count} elements, found ${n} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
