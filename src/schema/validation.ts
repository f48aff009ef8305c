import { badInput } from "../errors.js";

export function checkText(field: string, value: string, { min = 0, max = 1000 }: { min?: number; max?: number } = {}): string {
  const trimmed = value.trim();
  if (trimmed.length < min) throw badInput(field, min === 1 ? "must not be empty" : `must be at least ${min} characters`);
  if (trimmed.length > max) throw badInput(field, `must be at most ${max} characters`);
  return trimmed;
}

/** Event type names: letters, digits and _ . : - (CHAT_RECEIVED_MESSAGE, sms, statusInstanceChanged). */
export function checkEventTypeName(field: string, name: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/.test(name)) {
    throw badInput(field, `"${name}" is not a valid event type name (a letter, then letters, digits, _ . : -; at most 128)`);
  }
  return name;
}
