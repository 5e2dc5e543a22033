/** YAML (and JSON, which YAML reads too) in and out; the parser is loaded only when used. */

export class ParseProblem extends Error {}

/** Parses pasted or uploaded text; throws ParseProblem with one sentence. */
export async function parseRequirementsText(text: string): Promise<Record<string, unknown>> {
  const YAML = await import("yaml");
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (error) {
    const first = error instanceof Error ? (error.message.split("\n")[0] ?? "") : "";
    throw new ParseProblem(`The text is not valid YAML or JSON: ${first.replace(/:$/, "")}.`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new ParseProblem("The text is not a requirements document: it should be a mapping with a name and workloads.");
  }
  return doc as Record<string, unknown>;
}

export async function toYaml(doc: Record<string, unknown>): Promise<string> {
  const YAML = await import("yaml");
  return YAML.stringify(doc);
}

/** "SaaS startup (B2B)" -> "saas-startup-b2b.yaml" */
export function yamlFilename(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 80);
  return `${slug || "requirements"}.yaml`;
}
