/** Form controls drawn from schema fields, with client and server errors beside them. */
import { createContext, useContext, useId } from "react";
import { get, useFormContext, useWatch } from "react-hook-form";
import { CheckboxField, InputField, SelectField } from "../../components/Field";
import { boundsText, fieldsOf, type FieldSpec } from "./schema";
import { checkValue } from "./validate";

/** The server's refusals by field path (`workloads.0.peak_rps`), and how to drop one. */
export interface ServerErrors {
  errors: Record<string, string>;
  clear: (path: string) => void;
}
export const ServerErrorsContext = createContext<ServerErrors>({ errors: {}, clear: () => undefined });

/** The id of the control of a path: error summaries link to it. */
export function fieldId(path: string): string {
  return `req-${path.replace(/[^A-Za-z0-9_-]/g, "-")}`;
}

export function useFieldError(path: string): string | undefined {
  const { formState } = useFormContext();
  const server = useContext(ServerErrorsContext);
  const own = get(formState.errors, path) as { message?: string } | undefined;
  return (typeof own?.message === "string" && own.message) || server.errors[path];
}

function hintOf(field: FieldSpec, options: { choices?: boolean } = {}): string | undefined {
  const parts: string[] = [];
  if (field.description) parts.push(/[.)]$/.test(field.description) ? field.description : `${field.description}.`);
  if (!options.choices) {
    const bounds = boundsText(field);
    if (bounds) parts.push(bounds);
  }
  return parts.join(" ") || undefined;
}

const OPTION_WORDS: Record<string, string> = {
  aws: "AWS",
  azure: "Azure",
  gcp: "Google Cloud",
  hipaa: "HIPAA",
  gdpr: "GDPR",
  soc2: "SOC 2",
  pci_dss: "PCI DSS",
  iso27001: "ISO 27001",
  ccpa: "CCPA",
  none: "None",
  "1y": "1 year",
  "3y": "3 years",
  auto: "Auto (when it pays)",
  required: "Required",
  avoid: "Avoid",
  postgres: "PostgreSQL",
  mysql: "MySQL",
  frequent: "Frequent",
  infrequent: "Infrequent",
  us: "United States (us)",
  ca: "Canada (ca)",
  eu: "European Union (eu)",
  uk: "United Kingdom (uk)",
  apac: "Asia Pacific (apac)",
  sa: "South America (sa)",
};

export function optionLabel(value: string | number): string {
  const text = String(value);
  if (typeof value === "number") return `${text}%`;
  return OPTION_WORDS[text] ?? text.charAt(0).toUpperCase() + text.slice(1).replace(/_/g, " ");
}

/** One field of a model at `path`, drawn as its kind asks. */
export function SchemaField({ field, path, label }: { field: FieldSpec; path: string; label?: string }) {
  const { register } = useFormContext();
  const server = useContext(ServerErrorsContext);
  const error = useFieldError(path);
  const id = fieldId(path);
  const rules = { validate: (value: unknown) => checkValue(field, value), onChange: () => server.clear(path) };
  const text = label ?? field.label;

  if (field.kind === "object") return <ObjectField field={field} path={path} />;
  if (field.kind === "enum-list") return <ChoiceList field={field} path={path} label={text} />;
  if (field.kind === "boolean") {
    return <CheckboxField id={id} label={text} hint={field.description} error={error} {...register(path, rules)} />;
  }
  if (field.kind === "enum") {
    return (
      <SelectField id={id} label={text} hint={hintOf(field, { choices: true })} error={error} {...register(path, rules)}>
        {field.default === undefined ? <option value="">{field.nullable ? "Any" : "Choose…"}</option> : null}
        {(field.options ?? []).map((o) => (
          <option key={String(o)} value={String(o)}>
            {optionLabel(o)}
          </option>
        ))}
      </SelectField>
    );
  }
  const numeric = field.kind === "number" || field.kind === "integer";
  return (
    <InputField
      id={id}
      label={text}
      hint={hintOf(field)}
      error={error}
      inputMode={numeric ? (field.kind === "integer" ? "numeric" : "decimal") : undefined}
      autoComplete="off"
      required={field.required}
      placeholder={field.default !== undefined && field.default !== "" ? `default ${String(field.default)}` : undefined}
      {...register(path, rules)}
    />
  );
}

/** A list of allowed values: one checkbox each. */
export function ChoiceList({
  field,
  path,
  label,
  options,
  id,
}: {
  field: FieldSpec;
  path: string;
  label?: string;
  options?: { value: string; label: string }[];
  id?: string;
}) {
  const { register } = useFormContext();
  const server = useContext(ServerErrorsContext);
  const error = useFieldError(path);
  const legendId = useId();
  const hint = field.description;
  const choices = options ?? (field.options ?? []).map((o) => ({ value: String(o), label: optionLabel(o) }));
  return (
    <fieldset className={`choices${error ? " field-invalid" : ""}`} id={id ?? fieldId(path)} aria-describedby={error ? `${legendId}-error` : undefined}>
      <legend id={legendId}>{label ?? field.label}</legend>
      {hint ? <p className="hint">{hint}</p> : null}
      <div className="choice-grid">
        {choices.map((c) => (
          <label key={c.value} className="choice">
            <input
              type="checkbox"
              value={c.value}
              {...register(path, { validate: (value: unknown) => checkValue(field, value), onChange: () => server.clear(path) })}
            />
            {c.label}
          </label>
        ))}
      </div>
      <GroupError id={`${legendId}-error`} error={error} />
    </fieldset>
  );
}

/** A fieldset's error, below its controls (the fieldset is described by its id). */
function GroupError({ id, error }: { id: string; error: string | undefined }) {
  return error ? (
    <p className="field-error" id={id}>
      {error}
    </p>
  ) : null;
}

/** A nested model (a worker's GPUs): optional ones are switched on by a checkbox. */
function ObjectField({ field, path }: { field: FieldSpec; path: string }) {
  const { register, control } = useFormContext();
  const enabled = useWatch({ control, name: `${path}.__enabled` }) as boolean | undefined;
  const error = useFieldError(path);
  const fields = fieldsOf(field.model ?? "");
  return (
    <fieldset className="nested">
      <legend>{field.label}</legend>
      {field.nullable ? <CheckboxField id={fieldId(`${path}.__enabled`)} label={`Needs ${field.label.toLowerCase()}`} hint={field.description} {...register(`${path}.__enabled`)} /> : null}
      {error ? <p className="field-error">{error}</p> : null}
      {!field.nullable || enabled ? (
        <div className="field-grid">
          {fields.map((f) => (
            <SchemaField key={f.name} field={f} path={`${path}.${f.name}`} />
          ))}
        </div>
      ) : null}
    </fieldset>
  );
}

/**
 * A number for each value ticked in a list (`user_shares`: each user place's percent of the
 * users), one box per ticked value, with what they add up to. `listPath` is the list, and
 * `options` labels its values.
 */
export function ShareBoxes({
  field,
  path,
  listPath,
  options,
}: {
  field: FieldSpec;
  path: string;
  listPath: string;
  options: { value: string; label: string }[];
}) {
  const { control } = useFormContext();
  const error = useFieldError(path);
  const legendId = useId();
  const ticked = (useWatch({ control, name: listPath }) as string[] | false | undefined) || [];
  const boxes = (useWatch({ control, name: path }) as Record<string, string> | undefined) ?? {};
  if (ticked.length < 2) return null; // one place is all of the users
  const given = ticked.filter((p) => String(boxes[p] ?? "").trim());
  const total = given.reduce((sum, p) => sum + (Number(boxes[p]) || 0), 0);
  return (
    <fieldset className={`nested${error ? " field-invalid" : ""}`} id={fieldId(path)} aria-describedby={error ? `${legendId}-error` : undefined}>
      <legend id={legendId}>{field.label}</legend>
      {field.description ? <p className="hint">{field.description}</p> : null}
      <div className="field-grid">
        {ticked.map((place) => (
          <ShareBox key={place} field={field} path={`${path}.${place}`} label={options.find((o) => o.value === place)?.label ?? place} />
        ))}
      </div>
      {given.length ? (
        <p role="status" className="hint">
          {`Together ${total.toLocaleString("en-US")}%${given.length < ticked.length ? `, ${ticked.length - given.length} of ${ticked.length} places without a share` : ""}.`}
        </p>
      ) : null}
      <GroupError id={`${legendId}-error`} error={error} />
    </fieldset>
  );
}

function ShareBox({ field, path, label }: { field: FieldSpec; path: string; label: string }) {
  const { register } = useFormContext();
  const server = useContext(ServerErrorsContext);
  const error = useFieldError(path);
  const each: FieldSpec = { ...field, kind: "number", required: false, description: undefined };
  return (
    <InputField
      id={fieldId(path)}
      label={label}
      error={error}
      inputMode="decimal"
      autoComplete="off"
      {...register(path, {
        validate: (value: unknown) => checkValue(each, value),
        onChange: () => {
          server.clear(path);
          server.clear(path.slice(0, path.lastIndexOf(".")));
        },
      })}
    />
  );
}
