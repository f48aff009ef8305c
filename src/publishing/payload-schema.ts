import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

/**
 * Event types may carry a JSON Schema (draft 2020-12) for their payloads. This module owns the
 * rule: a schema is compiled once per event type and text (ajv generates the validator), and a
 * payload that does not match is refused with the path that failed. Schemas are written by the
 * admin only, and bounded in size; compiling happens when a schema is set and on a publishing
 * process's first use of it, never per event.
 */
export interface SchemaProblem {
  /** JSON Pointer into the payload (or the schema) where it failed; "" for the root. */
  readonly path: string;
  readonly message: string;
}

/** The largest schema accepted, as JSON text. */
export const MAX_SCHEMA_BYTES = 64 * 1024;

export class PayloadSchemas {
  private readonly ajv = new Ajv2020({ strict: true, allErrors: false, allowUnionTypes: true });
  /** Per event type: the schema text it was compiled from, and the validator. */
  private readonly compiled = new Map<number, { text: string; validate: ValidateFunction }>();

  constructor() {
    addFormats.default(this.ajv);
  }

  /** Compiles a schema given by a user; a problem when it is not a valid draft 2020-12 schema. */
  check(schema: unknown): { validate: ValidateFunction } | { problem: SchemaProblem } {
    const text = JSON.stringify(schema);
    if (Buffer.byteLength(text) > MAX_SCHEMA_BYTES) {
      return { problem: { path: "", message: `is ${Buffer.byteLength(text)} bytes; the limit is ${MAX_SCHEMA_BYTES}` } };
    }
    if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
      return { problem: { path: "", message: "must be a JSON Schema object (draft 2020-12)" } };
    }
    try {
      // Schemas are compiled on their own: no $id registration, so two event types never collide.
      return { validate: this.ajv.compile({ ...(schema as object), $id: undefined }) };
    } catch (error) {
      return { problem: { path: "", message: `is not a valid JSON Schema (draft 2020-12): ${(error as Error).message}` } };
    }
  }

  /**
   * Checks a payload against its event type's schema (undefined: none, anything goes). `schemaText`
   * is the schema as stored; the validator is compiled again only when it changes.
   */
  problem(eventTypeId: number, schemaText: string | null, payload: unknown): SchemaProblem | undefined {
    if (schemaText === null) return undefined;
    let entry = this.compiled.get(eventTypeId);
    if (!entry || entry.text !== schemaText) {
      const checked = this.check(JSON.parse(schemaText));
      // A stored schema was checked when it was set; one that no longer compiles refuses everything.
      if ("problem" in checked) return { path: "", message: `the event type's schema cannot be used: ${checked.problem.message}` };
      entry = { text: schemaText, validate: checked.validate };
      this.compiled.set(eventTypeId, entry);
    }
    return entry.validate(payload) ? undefined : describe(entry.validate.errors);
  }

  /** Checks a value against a compiled schema (sampleData when a schema is set). */
  static problemWith(validate: ValidateFunction, value: unknown): SchemaProblem | undefined {
    return validate(value) ? undefined : describe(validate.errors);
  }
}

function describe(errors: ErrorObject[] | null | undefined): SchemaProblem {
  const first = errors?.[0];
  if (!first) return { path: "", message: "does not match the schema" };
  const extra = first.keyword === "additionalProperties" ? ` (${JSON.stringify(first.params.additionalProperty)})` : "";
  return { path: first.instancePath, message: `${first.message ?? "does not match the schema"}${extra}` };
}
