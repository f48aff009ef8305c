// The layering rule of src/ (README, "Development"), kept by reading the import statements:
// an import may point to its own layer or a lower one, never up; and no module reaches itself
// through its imports, neither one file through others nor one folder through others. Type-only
// imports count too: a type is a dependency of the code that names it.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");

/**
 * From the top down. A folder (or a file directly in src/) belongs to exactly one layer; a new
 * one must be placed here before its code can be imported at all.
 */
const LAYERS: readonly { readonly name: string; readonly members: readonly string[] }[] = [
  { name: "server wiring", members: ["cli.ts", "server"] },
  { name: "GraphQL schema", members: ["schema"] },
  { name: "domain operations", members: ["webhooks", "auth", "publishing", "dispatcher", "live", "retention", "metrics"] },
  { name: "store and pub/sub", members: ["store", "pubsub"] },
  { name: "config, log, crypto", members: ["config.ts", "log.ts", "clock.ts", "errors.ts", "ids.ts", "crypto"] },
];

/** Code written by generators (Prisma, Pothos): part of the store, not read here. */
const GENERATED = "store/generated/";

interface Import {
  readonly from: string;
  readonly to: string;
  readonly line: number;
  readonly text: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const rel = relative(SRC, path).split("\\").join("/");
    if (rel.startsWith(GENERATED.slice(0, -1))) return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) && !name.endsWith(".d.ts") ? [rel] : [];
  });
}

// `import … from "x"`, `import type … from "x"`, `export … from "x"` (across lines, up to the
// first quote or semicolon), `import "x"` and `import("x")`.
const STATIC = /^\s*(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/gm;
const BARE = /^\s*import\s*["']([^"']+)["']/gm;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

function importsOf(file: string, files: ReadonlySet<string>): Import[] {
  const text = readFileSync(join(SRC, file), "utf8");
  const found: Import[] = [];
  for (const pattern of [STATIC, BARE, DYNAMIC]) {
    for (const match of text.matchAll(pattern)) {
      const specifier = match[1]!;
      if (!specifier.startsWith(".")) continue; // a package: not ours to layer
      const target = resolveImport(file, specifier, files);
      if (target.startsWith(GENERATED)) continue;
      const line = text.slice(0, match.index).split("\n").length + (match[0].match(/^\s*/)![0].split("\n").length - 1);
      found.push({ from: file, to: target, line, text: `import "${specifier}"` });
    }
  }
  return found;
}

function resolveImport(from: string, specifier: string, files: ReadonlySet<string>): string {
  const base = join(dirname(from), specifier).split("\\").join("/");
  const stem = base.replace(/\.js$/, "");
  for (const candidate of [`${stem}.ts`, `${stem}.tsx`, `${stem}/index.ts`]) {
    if (files.has(candidate)) return candidate;
  }
  return base;
}

/** The folder (or top-level file) a source file belongs to: "dispatcher", "config.ts". */
function unitOf(file: string): string {
  return file.split("/")[0]!;
}

function layerOf(file: string): number {
  return LAYERS.findIndex((layer) => layer.members.includes(unitOf(file)));
}

/** Every cycle through `graph`'s edges, each once, as the path that closes it. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (node: string) => {
    if (done.has(node)) return;
    const at = path.indexOf(node);
    if (at >= 0) {
      found.push([...path.slice(at), node]);
      return;
    }
    path.push(node);
    for (const next of graph.get(node) ?? []) visit(next);
    path.pop();
    done.add(node);
  };
  for (const node of [...graph.keys()].sort()) visit(node);
  return found;
}

const files = sourceFiles(SRC).sort();
const fileSet = new Set(files);
const imports = files.flatMap((file) => importsOf(file, fileSet));
const where = (i: Import) => `src/${i.from}:${i.line} ${i.text}`;

describe("layers of src/", () => {
  it("reads the imports it checks", () => {
    // A scan that finds nothing would pass every rule below.
    expect(files.length).toBeGreaterThan(50);
    expect(imports.length).toBeGreaterThan(200);
    expect(imports.filter((i) => !fileSet.has(i.to)).map((i) => `${where(i)}: no such source file`)).toEqual([]);
  });

  it("places every file of src/ in one layer", () => {
    expect(files.filter((f) => layerOf(f) < 0).map((f) => `src/${f}: in no layer (add "${unitOf(f)}" to LAYERS)`)).toEqual([]);
  });

  it("has no import pointing up the layers", () => {
    const upward = imports
      .filter((i) => layerOf(i.to) < layerOf(i.from))
      .map((i) => `${where(i)}: ${LAYERS[layerOf(i.from)]!.name} may not import ${LAYERS[layerOf(i.to)]!.name} (src/${i.to})`);
    expect(upward).toEqual([]);
  });

  it("has no import cycle between files", () => {
    const graph = new Map<string, string[]>(files.map((f) => [f, []]));
    for (const i of imports) graph.get(i.from)!.push(i.to);
    expect(cycles(graph).map((c) => c.map((f) => `src/${f}`).join(" -> "))).toEqual([]);
  });

  it("has no import cycle between folders", () => {
    // Within one layer folders may use each other, in one direction only (publishing may use
    // retention's horizon; then retention may not use publishing).
    const graph = new Map<string, string[]>();
    const example = new Map<string, Import>();
    for (const i of imports) {
      const [from, to] = [unitOf(i.from), unitOf(i.to)];
      if (from === to) continue;
      graph.set(from, [...(graph.get(from) ?? []), to]);
      if (!example.has(`${from}>${to}`)) example.set(`${from}>${to}`, i);
    }
    const described = cycles(graph).map((c) =>
      c
        .slice(0, -1)
        .map((unit, k) => where(example.get(`${unit}>${c[k + 1]}`)!))
        .join(", then "),
    );
    expect([...new Set(described)]).toEqual([]);
  });
});
