/**
 * Between the requirements document (what the API takes, what YAML holds) and the form's
 * values (text for numbers, so that an empty box means "not given"). Both directions are
 * driven by the schema: a field the schema does not have is reported, never dropped silently.
 */
import { PLACE_ALIASES } from "../../api/engine-meta.gen";
import { fieldsOf, modelOfKind, type FieldSpec } from "./schema";

export type Scalar = string | boolean | string[];
export interface ModelValues {
  [field: string]: Scalar | ModelValues | ModelValues[] | undefined;
}
export interface FormValues extends ModelValues {
  name: string;
  workloads: ModelValues[];
}

const ENABLED = "__enabled";
/** The fields a document gave (kept when written back, even when equal to the default). */
const GIVEN = "__given";

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function sameSet(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/**
 * A place as the engine reads it, where the field lists places (`users`, `data_residency`,
 * the keys of `user_shares`): its option whatever the case ("jp" is JP, "US" the group us),
 * else the group a country code stands for ("GB" is uk). Anything else is kept as written,
 * for the server to refuse with its own message. `users: [JP, US]` with `user_shares: {JP:
 * 70, US: 30}` had become users JP and US but shares JP and us, and the form sent the JP
 * share alone.
 */
function asPlace(field: FieldSpec, value: string): string {
  const options = field.options?.map(String) ?? [];
  if (!options.includes("us")) return value;
  const known = options.find((o) => o.toLowerCase() === value.toLowerCase());
  const alias = PLACE_ALIASES[value.trim().toUpperCase()];
  return known ?? (alias !== undefined && options.includes(alias) ? alias : value);
}

function valueOf(field: FieldSpec, raw: unknown, path: string, unknown: string[]): Scalar | ModelValues {
  switch (field.kind) {
    case "boolean":
      return typeof raw === "boolean" ? raw : Boolean(field.default ?? false);
    case "enum-list":
      return Array.isArray(raw) ? raw.map((v) => asPlace(field, String(v))) : ((field.default as unknown[] | undefined) ?? []).map(String);
    case "enum":
      return raw === undefined || raw === null ? (field.default === undefined ? "" : String(field.default)) : String(raw);
    case "number-map": {
      // each key as the schema spells it (a pasted "jp" is the JP box), each number as text
      const out: ModelValues = {};
      if (!isObject(raw)) return out;
      for (const [key, value] of Object.entries(raw)) {
        const known = field.options?.map(String).find((o) => o.toLowerCase() === key.toLowerCase());
        out[asPlace(field, known ?? key)] = value === null || value === undefined ? "" : String(value);
      }
      return out;
    }
    case "object": {
      const model = field.model ?? "";
      const present = isObject(raw);
      const values = modelValues(model, present ? raw : {}, path, unknown);
      return field.nullable ? { ...values, [ENABLED]: present } : values;
    }
    default:
      return raw === undefined || raw === null ? "" : typeof raw === "object" ? JSON.stringify(raw) : String(raw);
  }
}

function modelValues(model: string, doc: Record<string, unknown>, path: string, unknown: string[], skip: string[] = []): ModelValues {
  const fields = fieldsOf(model);
  const out: ModelValues = {};
  for (const field of fields) out[field.name] = valueOf(field, doc[field.name], `${path}${field.name}.`, unknown);
  out[GIVEN] = fields.filter((f) => doc[f.name] !== undefined).map((f) => f.name);
  for (const key of Object.keys(doc)) {
    if (!skip.includes(key) && !fields.some((f) => f.name === key)) unknown.push(`${path}${key}`);
  }
  return out;
}

/** A new workload of a kind: its name, every other field empty or at its default. */
export function newWorkload(type: string, name: string): ModelValues {
  const model = modelOfKind(type);
  if (!model) throw new Error(`unknown workload kind ${type}`);
  return { type, ...modelValues(model, { name }, "", []) };
}

export function emptyForm(): FormValues {
  return fromDocument({ name: "", workloads: [] }).values;
}

/** The form's values for a document, and the paths of what the form has no field for. */
export function fromDocument(doc: unknown): { values: FormValues; unknown: string[] } {
  const unknown: string[] = [];
  const source = isObject(doc) ? doc : {};
  const values = modelValues("Requirements", source, "", unknown, ["workloads"]) as FormValues;
  values.name = typeof source.name === "string" ? source.name : "";
  const workloads = Array.isArray(source.workloads) ? source.workloads : [];
  values.workloads = workloads.map((raw, i) => {
    const w = isObject(raw) ? raw : {};
    const type = String(w.type ?? "");
    const model = modelOfKind(type);
    if (!model) {
      unknown.push(`workloads[${i}].type (${type || "missing"})`);
      return { type: "web_service", ...modelValues("WebService", {}, "", []) };
    }
    return { type, ...modelValues(model, w, `workloads[${i}].`, unknown, ["type"]) };
  });
  return { values, unknown };
}

/** A number box's value: empty is not given; what is not a number goes as typed (the API names it). */
function numberOf(value: unknown): number | string | undefined {
  const text = String(value ?? "").trim();
  if (!text) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : text;
}

/** A field's value in the document; a default is left out unless the document gave it. */
function docValue(field: FieldSpec, value: unknown, given: boolean): unknown {
  switch (field.kind) {
    case "boolean":
      return !given && value === Boolean(field.default ?? false) ? undefined : Boolean(value);
    case "enum-list": {
      const list = Array.isArray(value) ? value.map(String) : [];
      const typed = list.map((v) => field.options?.find((o) => String(o) === v) ?? v);
      return !given && sameSet(typed, (field.default as unknown[] | undefined) ?? []) ? undefined : typed;
    }
    case "enum": {
      if (value === "" || value === undefined) return undefined;
      const typed = field.options?.find((o) => String(o) === value) ?? value;
      return !given && typed === field.default ? undefined : typed;
    }
    case "object": {
      if (!isObject(value)) return undefined;
      if (field.nullable && !value[ENABLED]) return undefined;
      const doc = modelDocument(field.model ?? "", value);
      return Object.keys(doc).length || field.nullable ? doc : undefined;
    }
    case "number":
    case "integer":
      return numberOf(value);
    case "number-map": {
      if (!isObject(value)) return undefined;
      const entries = Object.entries(value).flatMap(([key, box]) => {
        const n = numberOf(box);
        return n === undefined ? [] : [[key, n] as const];
      });
      return entries.length ? Object.fromEntries(entries) : undefined;
    }
    default: {
      const text = String(value ?? "").trim();
      return text ? text : undefined;
    }
  }
}

function modelDocument(model: string, values: Record<string, unknown>): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  const given = Array.isArray(values[GIVEN]) ? (values[GIVEN] as string[]) : [];
  for (const field of fieldsOf(model)) {
    const value = docValue(field, values[field.name], given.includes(field.name));
    if (value !== undefined) doc[field.name] = value;
  }
  return doc;
}

/** The requirements document of the form's values: only what was given or differs from a default. */
export function toDocument(values: FormValues): Record<string, unknown> {
  const doc = modelDocument("Requirements", values);
  const name = values.name.trim();
  const out: Record<string, unknown> = { name };
  for (const [key, value] of Object.entries(doc)) if (key !== "name" && key !== "workloads") out[key] = value;
  // a share box shows only while its place is ticked among two or more users: a figure no
  // longer on the screen (its place unticked, or one place left, which is all of the users)
  // is not sent
  if (isObject(out.user_shares)) {
    const users = Array.isArray(out.users) ? out.users.map(String) : [];
    const kept = Object.entries(out.user_shares).filter(([place]) => users.includes(place));
    if (kept.length && users.length > 1) out.user_shares = Object.fromEntries(kept);
    else delete out.user_shares;
  }
  out.workloads = values.workloads.map((w) => {
    const type = String(w.type);
    return { type, ...modelDocument(modelOfKind(type) ?? "WebService", w) };
  });
  // the document reads in the usual order: name, business, ..., workloads last
  return out;
}
