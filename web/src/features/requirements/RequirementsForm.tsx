/**
 * The guided requirements form: business, workloads (added and removed by kind, each with the
 * fields its kind takes), compliance, residency, where the users are, availability,
 * preferences and budget. The server's refusals appear beside the fields they name.
 */
import { useCallback, useId, useMemo, useRef, useState, type FormEvent, type Ref } from "react";
import { FormProvider, useFieldArray, useForm, useFormContext, useWatch, type FieldValues } from "react-hook-form";
import { COUNTRIES, REGIONS } from "../../api/engine-meta.gen";
import { ApiError, normalizePath } from "../../api/errors";
import { saveBlob } from "../../api/stream";
import { ErrorText } from "../../components/Feedback";
import { providerName } from "../../lib/format";
import { emptyForm, fromDocument, newWorkload, toDocument, type FormValues, type ModelValues } from "./convert";
import { ChoiceList, fieldId, optionLabel, SchemaField, ServerErrorsContext, ShareBoxes, useFieldError } from "./fields";
import { PastePanel, type PastePanelHandle } from "./PastePanel";
import { pathLabel } from "./paths";
import { fieldsOf, KIND_LABELS, MAX_WORKLOADS, requirementsField, workloadKinds } from "./schema";
import { toYaml, yamlFilename } from "./yamlio";

interface Props {
  initial?: Record<string, unknown>;
  submitLabel: string;
  /** Sends the document; throws ApiError (422 problems are shown beside their fields). */
  onSubmit: (document: Record<string, unknown>) => Promise<void>;
}

/** Server paths are relative to the requirements (a leading "requirements." is dropped). */
function serverFieldErrors(error: ApiError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, message] of Object.entries(error.fieldErrors)) {
    const relative = normalizePath(path).replace(/^requirements\.?/, "");
    // the assessment's title is the requirements' name
    out[relative === "title" ? "name" : relative] = message;
  }
  return out;
}

export function RequirementsForm({ initial, submitLabel, onSubmit }: Props) {
  const formId = useId();
  const methods = useForm<FieldValues>({
    defaultValues: initial ? fromDocument(initial).values : emptyForm(),
    mode: "onTouched",
  });
  const [serverErrors, setServerErrors] = useState<Record<string, string>>({});
  const [submitError, setSubmitError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const paste = useRef<PastePanelHandle>(null);
  const summary = useRef<HTMLDivElement>(null);

  const clear = useCallback((path: string) => {
    setServerErrors((current) => {
      if (!(path in current)) return current;
      const { [path]: _dropped, ...rest } = current;
      return rest;
    });
  }, []);
  const serverContext = useMemo(() => ({ errors: serverErrors, clear }), [serverErrors, clear]);

  const fill = (doc: Record<string, unknown>): string => {
    const { values, unknown } = fromDocument(doc);
    methods.reset(values);
    setServerErrors({});
    setSubmitError(null);
    const count = values.workloads.length;
    const filled = `The form now holds “${values.name || "unnamed"}” with ${count} workload${count === 1 ? "" : "s"}.`;
    return unknown.length ? `${filled} The form has no field for ${unknown.join(", ")}: left out.` : filled;
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (paste.current && !(await paste.current.flush())) return;
    await methods.handleSubmit(
      async (values) => {
        setBusy(true);
        setSubmitError(null);
        setServerErrors({});
        try {
          await onSubmit(toDocument(values as FormValues));
        } catch (error) {
          if (error instanceof ApiError && Object.keys(error.fieldErrors).length) setServerErrors(serverFieldErrors(error));
          setSubmitError(error);
          requestAnimationFrame(() => summary.current?.focus());
        } finally {
          setBusy(false);
        }
      },
      () => setSubmitError("Some fields need a change: see the messages beside them."),
    )();
  };

  const download = async () => {
    setDownloadError(null);
    try {
      const doc = toDocument(methods.getValues() as FormValues);
      const text = await toYaml(doc);
      saveBlob(new Blob([text], { type: "application/yaml" }), yamlFilename(String(doc.name ?? "")));
    } catch {
      setDownloadError("The YAML could not be made; try again.");
    }
  };

  return (
    <FormProvider {...methods}>
      <ServerErrorsContext.Provider value={serverContext}>
        <PastePanel ref={paste} onDocument={fill} />
        <form id={formId} className="requirements-form" onSubmit={submit} noValidate aria-busy={busy}>
          <ErrorSummary ref={summary} error={submitError} serverErrors={serverErrors} />
          <section className="panel" aria-labelledby={`${formId}-about`}>
            <h2 id={`${formId}-about`}>The business</h2>
            <SchemaField field={requirementsField("name")} path="name" label="Assessment name" />
            <div className="field-grid">
              {fieldsOf("Business").map((f) => (
                <SchemaField key={f.name} field={f} path={`business.${f.name}`} />
              ))}
            </div>
            <Problem path="business" />
          </section>
          <Workloads />
          <section className="panel" aria-labelledby={`${formId}-where`}>
            <h2 id={`${formId}-where`}>Compliance, residency and users</h2>
            <ChoiceList field={requirementsField("compliance")} path="compliance" label="Compliance frameworks" />
            <ChoiceList field={requirementsField("data_residency")} path="data_residency" label="Data residency (where data may be stored)" options={places("data_residency")} />
            <ChoiceList field={requirementsField("users")} path="users" label="Where the users are" options={places("users")} />
            <ShareBoxes field={requirementsField("user_shares")} path="user_shares" listPath="users" options={places("users")} />
            <SchemaField field={requirementsField("availability_target")} path="availability_target" label="Availability target" />
          </section>
          <Preferences />
          <div className="form-actions">
            <button type="submit" className="button-primary" disabled={busy}>
              {submitLabel}
            </button>
            <button type="button" onClick={download}>
              Download as YAML
            </button>
            {busy ? <span role="status">Sending the requirements…</span> : null}
          </div>
          <ErrorText error={downloadError} />
        </form>
      </ServerErrorsContext.Provider>
    </FormProvider>
  );
}

/** An error the server gave for a whole part (a workload, the business), not one field. */
const COUNTRY_NAMES: Record<string, string> = Object.fromEntries(COUNTRIES.map((c) => [c.code, c.name]));

/** The places a field takes (users, data_residency): its region groups in the schema's order, then its countries by name. */
function places(field: string): { value: string; label: string }[] {
  const values = (requirementsField(field).options ?? []).map(String);
  const groups = values.filter((v) => !COUNTRY_NAMES[v]).map((value) => ({ value, label: optionLabel(value) }));
  const countries = values
    .filter((v) => COUNTRY_NAMES[v])
    .map((value) => ({ value, label: `${COUNTRY_NAMES[value]} (${value})` }))
    .sort((a, b) => a.label.localeCompare(b.label));
  return [...groups, ...countries];
}

function Problem({ path }: { path: string }) {
  const error = useFieldError(path);
  return error ? <p className="field-error">{error}</p> : null;
}

const ErrorSummary = function ErrorSummary({
  ref,
  error,
  serverErrors,
}: {
  ref: Ref<HTMLDivElement>;
  error: unknown;
  serverErrors: Record<string, string>;
}) {
  const { control } = useFormContext();
  const workloads = (useWatch({ control, name: "workloads" }) as ModelValues[] | undefined) ?? [];
  if (!error) return null;
  const entries = Object.entries(serverErrors);
  const names = workloads.map((w) => String(w.name ?? ""));
  const types = workloads.map((w) => String(w.type ?? ""));
  return (
    <div className="error-summary" role="alert" tabIndex={-1} ref={ref}>
      <p>
        {entries.length
          ? `The requirements were refused: ${entries.length} ${entries.length === 1 ? "problem" : "problems"}, shown beside ${entries.length === 1 ? "its field" : "their fields"}.`
          : error instanceof Error || typeof error === "string"
            ? (error instanceof Error ? error.message : error)
            : "The requirements could not be sent."}
      </p>
      {entries.length ? (
        <ul>
          {entries.map(([path, message]) => (
            <li key={path}>
              <a href={`#${fieldId(path)}`}>{pathLabel(path, names, types)}</a>: {message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
};

function Workloads() {
  const id = useId();
  const { control } = useFormContext();
  const { fields, append, remove } = useFieldArray({ control, name: "workloads" });
  const server = useFieldError("workloads");
  const [kind, setKind] = useState("web_service");
  const kinds = workloadKinds();
  const values = (useWatch({ control, name: "workloads" }) as ModelValues[] | undefined) ?? [];
  const addButton = useRef<HTMLButtonElement>(null);

  const add = () => {
    const taken = new Set(values.map((w) => String(w.name)));
    const base = kind.replace(/_/g, "-");
    let name = base;
    for (let n = 2; taken.has(name); n += 1) name = `${base}-${n}`;
    append(newWorkload(kind, name), { focusName: `workloads.${fields.length}.name` });
  };

  return (
    <section className="panel" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Workloads</h2>
      {server ? <p className="field-error">{server}</p> : null}
      {fields.length === 0 ? <p className="empty">No workloads yet: add the services, databases, storage and jobs the business runs.</p> : null}
      <ol className="workloads">
        {fields.map((item, index) => {
          const value = values[index] ?? {};
          const type = String(value.type ?? "");
          const name = String(value.name ?? "");
          return (
            <li key={item.id}>
              <Workload index={index} type={type} name={name} onRemove={() => {
                remove(index);
                addButton.current?.focus();
              }} />
            </li>
          );
        })}
      </ol>
      <div className="add-workload">
        <div className="field">
          <label htmlFor={`${id}-kind`}>Kind of workload</label>
          <select id={`${id}-kind`} value={kind} onChange={(e) => setKind(e.target.value)}>
            {kinds.map((k) => (
              <option key={k.type} value={k.type}>
                {k.label}
              </option>
            ))}
          </select>
        </div>
        <button type="button" ref={addButton} onClick={add} disabled={fields.length >= MAX_WORKLOADS}>
          Add workload
        </button>
      </div>
    </section>
  );
}

function Workload({ index, type, name, onRemove }: { index: number; type: string; name: string; onRemove: () => void }) {
  const model = workloadKinds().find((k) => k.type === type)?.model ?? "WebService";
  const path = `workloads.${index}`;
  const label = `Workload ${index + 1}: ${name || "unnamed"} (${KIND_LABELS[type] ?? type})`;
  return (
    <fieldset className="workload" id={fieldId(path)}>
      <legend>{label}</legend>
      <Problem path={path} />
      <div className="field-grid">
        {fieldsOf(model).map((f) => (
          <SchemaField key={f.name} field={f} path={`${path}.${f.name}`} />
        ))}
      </div>
      <button type="button" className="button-quiet" onClick={onRemove}>
        Remove {name || `workload ${index + 1}`}
      </button>
    </fieldset>
  );
}

function Preferences() {
  const id = useId();
  const preferences = fieldsOf("Preferences");
  const regionsField = preferences.find((f) => f.name === "regions");
  const others = preferences.filter((f) => f.name !== "regions");
  const byProvider = ["aws", "azure", "gcp"].map((p) => ({ provider: p, regions: REGIONS.filter((r) => r.provider === p) }));
  return (
    <section className="panel" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Preferences</h2>
      <div className="field-grid">
        {others.map((f) => (
          <SchemaField key={f.name} field={f} path={`preferences.${f.name}`} />
        ))}
      </div>
      {regionsField ? (
        <details className="regions">
          <summary>Allowed regions (any when none is ticked)</summary>
          {byProvider.map(({ provider, regions }) => (
            <ChoiceList
              key={provider}
              id={fieldId(`preferences.regions.${provider}`)}
              field={{ ...regionsField, description: undefined }}
              path="preferences.regions"
              label={`${providerName(provider)} regions`}
              options={regions.map((r) => ({ value: r.code, label: `${r.code}: ${r.name}` }))}
            />
          ))}
        </details>
      ) : null}
      <Problem path="preferences" />
    </section>
  );
}
