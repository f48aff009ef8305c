import { badInput } from "../errors.js";

// What a webhook's calls are made with, as a client sets it: the URL and the extra headers.
// Checked before anything is stored, so a call can never carry what the gateway did not accept.

/** RFC 9110 token characters: what a header name may contain. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
/** Visible ASCII, space and tab; no CR, LF or NUL, so a value can never start a new header. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]{0,4096}$/;

/** Headers the gateway sets itself; a webhook may not override them. */
const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "content-type",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
  "authorization",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
]);

export interface HeaderInput {
  name: string;
  value: string;
}

export function checkHeaders(field: string, headers: readonly HeaderInput[]): HeaderInput[] {
  if (headers.length > 32) throw badInput(field, "at most 32 extra headers");
  const seen = new Set<string>();
  return headers.map((h, i) => {
    const at = `${field}[${i}]`;
    if (!HEADER_NAME.test(h.name)) throw badInput(`${at}.name`, `"${h.name}" is not a valid header name`);
    if (!HEADER_VALUE.test(h.value)) {
      throw badInput(`${at}.value`, "header values may not contain CR, LF or other control characters (at most 4096 characters)");
    }
    const lower = h.name.toLowerCase();
    if (RESERVED_HEADERS.has(lower)) {
      throw badInput(`${at}.name`, `"${h.name}" is set by the gateway; use the auth input for Authorization`);
    }
    if (seen.has(lower)) throw badInput(`${at}.name`, `"${h.name}" is given twice`);
    seen.add(lower);
    return { name: h.name, value: h.value };
  });
}

export function checkUrl(field: string, raw: string): string {
  if (raw.length > 2048) throw badInput(field, "is longer than 2048 characters");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badInput(field, `"${raw}" is not an absolute URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw badInput(field, `scheme "${url.protocol.replace(":", "")}" is not allowed; use http or https`);
  }
  if (url.username || url.password) {
    throw badInput(field, "must not carry credentials; use the auth input instead");
  }
  if (url.hash) throw badInput(field, "must not have a #fragment");
  return url.toString();
}
