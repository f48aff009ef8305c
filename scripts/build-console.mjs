// Builds the web console (console/ → console/dist, gitignored) with Vite. Run by npm install
// (scripts/generate.mjs) and by `npm run console:build`. The gateway serves the result at
// /console; it never builds on a request, so a broken build fails the install, not a page view.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { build } = await import("vite");
await build({ configFile: join(root, "console", "vite.config.ts"), logLevel: "warn" });
console.log("hookgate: console built into console/dist");
