/**
 * The requirements form reads its fields from the engine's JSON Schema (generated from the
 * API's models): which fields each workload kind takes, their bounds, defaults, choices and
 * descriptions. Only the words a person reads (labels) are written here.
 */
import { REQUIREMENTS_SCHEMAS } from "../../api/engine-meta.gen";

type Json = Record<string, unknown>;
const SCHEMAS = REQUIREMENTS_SCHEMAS as unknown as Record<string, Json>;

export type FieldKind = "number" | "integer" | "string" | "boolean" | "enum" | "enum-list" | "object" | "number-map";

export interface FieldSpec {
  name: string;
  kind: FieldKind;
  label: string;
  required: boolean;
  /** may be absent or null (`X | None` in the model) */
  nullable: boolean;
  description?: string;
  default?: unknown;
  min?: number;
  exclusiveMin?: number;
  max?: number;
  minLength?: number;
  maxLength?: number;
  /** enum and enum-list: the values allowed; number-map: the keys allowed */
  options?: (string | number)[];
  /** object: the model its fields come from */
  model?: string;
}

const LABELS: Record<string, string> = {
  name: "Name",
  industry: "Industry",
  company_size: "Company size",
  monthly_budget_usd: "Monthly budget (USD)",
  growth_rate_monthly: "Traffic growth a month (0.08 = 8%)",
  horizon_months: "Projection horizon (months)",
  egress_gb_per_month: "Internet egress (GB a month)",
  peak_rps: "Peak requests per second",
  avg_rps: "Average requests per second",
  cpu_ms_per_request: "CPU time per request (ms)",
  memory_gb: "Memory (GB)",
  peak_hours_per_day: "Peak hours a day",
  internal: "Internal (called only by your other services)",
  vcpu_hours_per_month: "vCPU-hours a month",
  vcpu: "vCPUs",
  interruptible: "Interruptible (may run on spot capacity)",
  gpu: "GPUs",
  follows_traffic: "Load grows with traffic",
  engine: "Engine",
  storage_gb: "Storage (GB)",
  growth_gb_per_month: "Growth (GB a month)",
  access: "Access",
  public: "Public (served through a CDN)",
  requests_per_month: "Requests a month",
  model_params_b: "Model parameters (billions)",
  tokens_b_per_run: "Training tokens per run (billions)",
  runs_per_month: "Runs a month",
  peak_tokens_per_sec: "Peak tokens per second",
  avg_tokens_per_sec: "Average tokens per second",
  precision: "Precision",
  context_tokens: "Context length (tokens)",
  avg_prompt_tokens: "Average prompt tokens",
  avg_output_tokens: "Average output tokens",
  tokens_per_sec_per_request: "Tokens per second per request",
  concurrent_requests: "Concurrent requests at peak",
  count: "GPUs at once",
  model: "GPU model",
  hours_per_month: "Hours a month",
  per_machine: "GPUs that must share a machine",
  providers: "Clouds",
  regions: "Allowed regions",
  managed_services: "Prefer managed services",
  kubernetes: "Kubernetes",
  commitment: "Commitment",
  spot_ok: "Spot capacity is fine",
  existing_provider: "Cloud already in use",
  user_shares: "Share of the users at each place (%)",
  allow_arm: "Arm machines are fine",
};

export const KIND_LABELS: Record<string, string> = {
  web_service: "Web service",
  worker: "Worker",
  database: "Database",
  object_storage: "Object storage",
  cache: "Cache",
  static_site: "Static site",
  ml_training: "ML training",
  ml_inference: "ML inference",
};

function deref(schema: Json): Json {
  const ref = schema.$ref;
  if (typeof ref === "string") {
    const target = SCHEMAS[ref.split("/").pop() ?? ""] ?? {};
    // a $ref beside its own keywords (a default): both apply
    const { $ref: _ignored, ...rest } = schema;
    return { ...target, ...rest };
  }
  return schema;
}

/** A schema's bounds as a field states them. */
function boundsOf(schema: Json): Pick<FieldSpec, "min" | "max" | "exclusiveMin" | "minLength" | "maxLength"> {
  const out: Pick<FieldSpec, "min" | "max" | "exclusiveMin" | "minLength" | "maxLength"> = {};
  const keys = { minimum: "min", maximum: "max", exclusiveMinimum: "exclusiveMin", minLength: "minLength", maxLength: "maxLength" } as const;
  for (const [key, name] of Object.entries(keys) as [keyof typeof keys, (typeof keys)[keyof typeof keys]][]) {
    if (typeof schema[key] === "number") out[name] = schema[key] as number;
  }
  return out;
}

function spec(name: string, raw: Json, required: boolean): FieldSpec | null {
  let schema = deref(raw);
  const anyOf = schema.anyOf as Json[] | undefined;
  const nullable = Boolean(anyOf?.some((s) => s.type === "null"));
  if (anyOf) {
    // `X | None`: the X, optional
    const some = anyOf.find((s) => s.type !== "null");
    if (!some) return null;
    schema = { ...deref(some), default: schema.default, description: schema.description ?? deref(some).description };
  }
  if ("const" in schema) return null; // a workload's `type`
  const base: FieldSpec = {
    name,
    kind: "string",
    label: LABELS[name] ?? String(schema.title ?? name),
    required: required && schema.default === undefined,
    nullable,
    description: typeof schema.description === "string" ? schema.description : undefined,
    default: schema.default ?? undefined,
  };
  if (schema.default === null) base.default = undefined;
  Object.assign(base, boundsOf(schema));
  if (Array.isArray(schema.enum)) return { ...base, kind: "enum", options: schema.enum as (string | number)[] };
  if (schema.type === "array") {
    const items = deref((schema.items as Json) ?? {});
    const options = Array.isArray(items.enum) ? (items.enum as string[]) : undefined;
    // a list that may not be empty and states no default (its model fills it, as with
    // `providers`: every cloud) starts with every value
    const filled = typeof schema.minItems === "number" && schema.minItems > 0 && options ? options : [];
    return { ...base, kind: "enum-list", options, default: schema.default ?? filled };
  }
  if (schema.type === "boolean") return { ...base, kind: "boolean" };
  if (schema.type === "integer") return { ...base, kind: "integer" };
  if (schema.type === "number") return { ...base, kind: "number" };
  if (schema.type === "object" && typeof schema.additionalProperties === "object" && schema.additionalProperties !== null) {
    // a number for each of some keys (`user_shares`: a percent for each place of `users`)
    const keys = deref((schema.propertyNames as Json | undefined) ?? {});
    return {
      ...base,
      ...boundsOf(deref(schema.additionalProperties as Json)),
      kind: "number-map",
      default: undefined,
      options: Array.isArray(keys.enum) ? (keys.enum as string[]) : undefined,
    };
  }
  if (schema.type === "object" && typeof schema.title === "string") return { ...base, kind: "object", model: schema.title };
  return base;
}

/** The fields of one model ("WebService", "Business", ...), name first, required before optional. */
export function fieldsOf(model: string): FieldSpec[] {
  const schema = SCHEMAS[model];
  if (!schema) throw new Error(`no schema named ${model}`);
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const props = (schema.properties as Record<string, Json>) ?? {};
  const fields = Object.entries(props)
    .map(([name, raw]) => spec(name, raw, required.has(name)))
    .filter((f): f is FieldSpec => f !== null);
  const rank = (f: FieldSpec) => (f.name === "name" ? 0 : f.required ? 1 : 2);
  // stable: the schema's own order within each rank
  return fields.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map(({ f }) => f);
}

/** Every workload kind: its `type` value and the model that describes it. */
export function workloadKinds(): { type: string; model: string; label: string }[] {
  const workloads = ((SCHEMAS.Requirements?.properties as Record<string, Json>).workloads ?? {}) as Json;
  const mapping = ((workloads.items as Json).discriminator as Json).mapping as Record<string, string>;
  return Object.entries(mapping).map(([type, ref]) => ({ type, model: ref.split("/").pop() ?? type, label: KIND_LABELS[type] ?? type }));
}

export function modelOfKind(type: string): string | undefined {
  return workloadKinds().find((k) => k.type === type)?.model;
}

/** The top-level fields of the requirements document. */
export function requirementsField(name: string): FieldSpec {
  const found = fieldsOf("Requirements").find((f) => f.name === name);
  if (!found) throw new Error(`no requirements field ${name}`);
  return found;
}

/** The limits of the workloads list. */
export const MAX_WORKLOADS = Number(((SCHEMAS.Requirements?.properties as Record<string, Json>).workloads as Json).maxItems ?? 50);

/** One sentence for what a field accepts, from its bounds: "More than 0, at most 60." */
export function boundsText(field: FieldSpec): string | undefined {
  const parts: string[] = [];
  if (field.exclusiveMin !== undefined) parts.push(`more than ${field.exclusiveMin.toLocaleString("en-US")}`);
  if (field.min !== undefined) parts.push(`at least ${field.min.toLocaleString("en-US")}`);
  if (field.max !== undefined) parts.push(`at most ${field.max.toLocaleString("en-US")}`);
  if (!parts.length) return undefined;
  const text = parts.join(", ");
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}
