// The README's configuration table, generated from settingDocs in src/config.ts.
//   tsx scripts/config-table.ts           prints the table
//   tsx scripts/config-table.ts --write   rewrites it in README.md, between the markers
// test/config.test.ts fails when README.md's table differs from this output.
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { settingDocs, type SettingDoc } from "../src/config.js";

export const README = fileURLToPath(new URL("../README.md", import.meta.url));
export const TABLE_START = "<!-- config-table:start -->";
export const TABLE_END = "<!-- config-table:end -->";

const cell = (text: string) => text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
// "(unset: …)" explains a default; anything else is a literal value.
const defaultCell = (value: string) => (value.startsWith("(") ? cell(value) : `\`${cell(value)}\``);

/** The markdown table, one row per setting in the order src/config.ts declares them; ends with a newline. */
export function renderConfigTable(docs: readonly SettingDoc[] = settingDocs): string {
  const rows = docs.map((d) => `| \`${d.env}\` | ${defaultCell(d.default)} | ${cell(d.description)} |`);
  return ["| Variable | Default | Description |", "| --- | --- | --- |", ...rows].join("\n") + "\n";
}

/** What README.md holds between the markers, or an error saying what is wrong with them. */
export function readmeTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start === -1 || end === -1 || end < start) {
    throw new Error(`README.md needs the markers ${TABLE_START} and ${TABLE_END}, in that order, around the configuration table`);
  }
  if (readme.indexOf(TABLE_START, start + 1) !== -1 || readme.indexOf(TABLE_END, end + 1) !== -1) {
    throw new Error("README.md has the configuration table markers more than once");
  }
  return readme.slice(start + TABLE_START.length, end);
}

/** README.md with the region between the markers replaced by the current table. */
export function withCurrentTable(readme: string): string {
  const region = readmeTable(readme);
  const start = readme.indexOf(TABLE_START) + TABLE_START.length;
  return readme.slice(0, start) + "\n" + renderConfigTable() + readme.slice(start + region.length);
}

function main(args: string[]): void {
  if (!args.includes("--write")) {
    process.stdout.write(renderConfigTable());
    return;
  }
  const readme = readFileSync(README, "utf8");
  const updated = withCurrentTable(readme);
  if (updated === readme) {
    process.stdout.write("README.md configuration table is up to date\n");
    return;
  }
  writeFileSync(README, updated);
  process.stdout.write("README.md configuration table written\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`config-table: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
