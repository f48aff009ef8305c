import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from "@pothos/core";
import {
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLFieldResolver,
  type GraphQLInputType,
  type GraphQLResolveInfo,
} from "graphql";
import { badInput } from "../errors.js";

/**
 * The one place every argument value is checked for what PostgreSQL (text, jsonb, timestamptz)
 * cannot hold or Prisma would change silently, before any resolver sees it:
 * - strings (String, ID, every string inside JSON, JSON keys): no NUL, no lone UTF-16 surrogate;
 * - JSON: nested at most MAX_JSON_DEPTH levels, no "__proto__" key (Prisma drops it on write);
 * - DateTime: years 1 to 9999.
 * A refusal is BAD_USER_INPUT naming the argument path (`input.payload`, `input.events[2].name`).
 */

/** Deepest JSON value accepted anywhere (payloads, sampleData): a nested object or array is one level. */
export const MAX_JSON_DEPTH = 64;

const EARLIEST = Date.parse("0001-01-01T00:00:00.000Z");
const LATEST = Date.parse("9999-12-31T23:59:59.999Z");

/** Why a string cannot be stored, or undefined when it can. */
export function badString(value: string): string | undefined {
  if (value.includes("\u0000")) return "must not contain a NUL character (U+0000)";
  if (!(value as string & { isWellFormed(): boolean }).isWellFormed()) {
    return "must not contain a lone UTF-16 surrogate (invalid Unicode)";
  }
  return undefined;
}

function checkString(field: string, value: string): void {
  const problem = badString(value);
  if (problem) throw badInput(field, problem);
}

/** Walks a JSON value without recursion, so no depth can overflow the stack. */
export function checkJson(field: string, root: unknown): void {
  const stack: { value: unknown; depth: number; at: string }[] = [{ value: root, depth: 0, at: "" }];
  while (stack.length) {
    const { value, depth, at } = stack.pop()!;
    if (typeof value === "string") {
      const problem = badString(value);
      if (problem) throw badInput(field, `${where(at)}${problem}`);
      continue;
    }
    if (typeof value !== "object" || value === null) continue;
    if (depth >= MAX_JSON_DEPTH) {
      throw badInput(field, `${where(at)}is nested deeper than ${MAX_JSON_DEPTH} levels (the limit for JSON values)`);
    }
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], depth: depth + 1, at: `${at}[${i}]` });
      continue;
    }
    for (const key of Object.keys(value)) {
      // JSON.parse makes "__proto__" an own key, which the store's JSON serialisation drops.
      if (key === "__proto__") throw badInput(field, `${where(at)}JSON objects may not have a "__proto__" key`);
      const problem = badString(key);
      if (problem) throw badInput(field, `${where(at)}a key ${problem}`);
      stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1, at: `${at}.${key}` });
    }
  }
}

const where = (at: string): string => (at ? `at ${at.startsWith(".") ? at.slice(1) : at}: ` : "");

function checkDate(field: string, value: Date): void {
  const time = value.getTime();
  if (!(time >= EARLIEST && time <= LATEST)) throw badInput(field, "must be a date in the years 1 to 9999");
}

/** Checks one value against its GraphQL input type, naming nested fields as clients write them. */
export function checkInputValue(field: string, type: GraphQLInputType, value: unknown): void {
  if (value === null || value === undefined) return;
  if (isNonNullType(type)) return checkInputValue(field, type.ofType, value);
  if (isListType(type)) {
    if (Array.isArray(value)) value.forEach((item, i) => checkInputValue(`${field}[${i}]`, type.ofType, item));
    return;
  }
  if (isInputObjectType(type)) {
    const fields = type.getFields();
    for (const [name, inner] of Object.entries(value as Record<string, unknown>)) {
      const def = fields[name];
      if (def) checkInputValue(`${field}.${name}`, def.type, inner);
    }
    return;
  }
  if (!isScalarType(type)) return; // enums: graphql-js already checked the value
  if (typeof value === "string") checkString(field, value);
  else if (type.name === "JSON") checkJson(field, value);
  else if (value instanceof Date) checkDate(field, value);
}

function checkArgs(args: object, info: GraphQLResolveInfo): void {
  const definition = info.parentType.getFields()[info.fieldName];
  if (!definition) return;
  for (const arg of definition.args) {
    const value = (args as Record<string, unknown>)[arg.name];
    if (value !== undefined && value !== null) checkInputValue(arg.name, arg.type, value);
  }
}

type Resolver<Types extends SchemaTypes> = GraphQLFieldResolver<unknown, Types["Context"], object>;

/** Runs the checks inside the auth plugin (listed after it), so a caller without access learns nothing new. */
export class InputChecksPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(resolver: Resolver<Types>, fieldConfig: PothosOutputFieldConfig<Types>): Resolver<Types> {
    if (!hasArgs(fieldConfig)) return resolver;
    return (parent, args, context, info) => {
      checkArgs(args, info);
      return resolver(parent, args, context, info);
    };
  }

  override wrapSubscribe(subscribe: Resolver<Types> | undefined, fieldConfig: PothosOutputFieldConfig<Types>): Resolver<Types> | undefined {
    if (!subscribe || !hasArgs(fieldConfig)) return subscribe;
    return (parent, args, context, info) => {
      checkArgs(args, info);
      return subscribe(parent, args, context, info);
    };
  }
}

const hasArgs = (fieldConfig: { args: object }): boolean => Object.keys(fieldConfig.args).length > 0;

/** The plugin's name, as the builder's plugins list takes it. */
export const inputChecksPlugin = "inputChecks";
SchemaBuilder.registerPlugin(inputChecksPlugin, InputChecksPlugin);

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      inputChecks: InputChecksPlugin<Types>;
    }
  }
}
