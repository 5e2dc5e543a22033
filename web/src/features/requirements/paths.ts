import { fieldsOf, KIND_LABELS, modelOfKind } from "./schema";

/**
 * A field path as a person reads it: "workloads.0.peak_rps" -> "Workload 1 (web-api), Peak
 * requests per second". `values` gives the workload names.
 */
export function pathLabel(path: string, workloadNames: string[] = [], workloadTypes: string[] = []): string {
  const parts = path.split(".").filter(Boolean);
  if (!parts.length) return "The requirements";
  const words: string[] = [];
  let model = "Requirements";
  for (let i = 0; i < parts.length; i += 1) {
    const part = parts[i] ?? "";
    if (part === "workloads" && /^\d+$/.test(parts[i + 1] ?? "")) {
      const index = Number(parts[i + 1]);
      const name = workloadNames[index];
      words.push(`Workload ${index + 1}${name ? ` (${name})` : ""}`);
      model = modelOfKind(workloadTypes[index] ?? "") ?? "";
      i += 1;
      continue;
    }
    if (/^\d+$/.test(part)) {
      words.push(`item ${Number(part) + 1}`);
      continue;
    }
    const field = model ? fieldsOf(model).find((f) => f.name === part) : undefined;
    words.push(field?.label ?? KIND_LABELS[part] ?? part);
    model = field?.kind === "object" ? (field.model ?? "") : "";
  }
  return words.join(", ");
}
