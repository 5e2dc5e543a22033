/** Checks a box against its schema field before anything is sent: one sentence, or true. */
import type { FieldSpec } from "./schema";

const fmt = (n: number) => n.toLocaleString("en-US");

export function checkValue(field: FieldSpec, value: unknown): string | true {
  if (field.kind === "boolean" || field.kind === "object" || field.kind === "number-map") return true;
  if (field.kind === "enum-list") {
    const list = Array.isArray(value) ? value : [];
    if (field.name === "providers" && list.length === 0) return "Choose at least one cloud.";
    return true;
  }
  const text = String(value ?? "").trim();
  if (!text) return field.required ? "Required." : true;
  if (field.kind === "string" || field.kind === "enum") {
    if (field.maxLength !== undefined && text.length > field.maxLength) return `At most ${fmt(field.maxLength)} characters.`;
    return true;
  }
  const n = Number(text);
  if (!Number.isFinite(n)) return "Must be a number.";
  if (field.kind === "integer" && !Number.isInteger(n)) return "Must be a whole number.";
  if (field.exclusiveMin !== undefined && !(n > field.exclusiveMin)) return `Must be more than ${fmt(field.exclusiveMin)}.`;
  if (field.min !== undefined && n < field.min) return `Must be at least ${fmt(field.min)}.`;
  if (field.max !== undefined && n > field.max) return `Must be at most ${fmt(field.max)}.`;
  return true;
}
