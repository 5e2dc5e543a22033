/** Settings: your organizations, your role and the members of each; an organization's LLM keys (owners and admins). */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { api, ok } from "../api/client";
import { ApiError } from "../api/errors";
import type { SecretRead } from "../api/types";
import { Busy, ErrorText } from "../components/Feedback";
import { InputField } from "../components/Field";
import { useMe } from "../components/Layout";
import { dateTime, words } from "../lib/format";
import { usePageTitle } from "../lib/usePageTitle";

const SECRET_LABELS: Record<string, string> = { openai_api_key: "OpenAI API key", anthropic_api_key: "Anthropic API key" };

export default function Settings() {
  usePageTitle("Settings");
  const me = useMe();
  return (
    <div className="page">
      <h1 tabIndex={-1}>Settings</h1>
      {me.isPending ? <Busy label="Loading your account…" /> : null}
      <ErrorText error={me.error} />
      {me.data ? (
        <>
          <section className="panel" aria-labelledby="account-h">
            <h2 id="account-h">Your account</h2>
            <dl className="facts">
              <dt>Name</dt>
              <dd>{me.data.full_name}</dd>
              <dt>Email</dt>
              <dd>{me.data.email}</dd>
            </dl>
          </section>
          {me.data.organizations.map((org) => (
            <section key={org.id} className="panel" aria-labelledby={`org-${org.id}`}>
              <h2 id={`org-${org.id}`}>{org.name}</h2>
              <p>
                Your role: <strong>{words(org.role)}</strong>
              </p>
              <Members organizationId={org.id} organizationName={org.name} />
              {org.role === "owner" || org.role === "admin" ? (
                <LlmKeys organizationId={org.id} />
              ) : (
                <p className="hint">Only the organization's owners and admins see and set its LLM keys.</p>
              )}
            </section>
          ))}
        </>
      ) : null}
    </div>
  );
}

function Members({ organizationId, organizationName }: { organizationId: string; organizationName: string }) {
  const members = useQuery({
    queryKey: ["org", organizationId, "members"],
    queryFn: ({ signal }) => ok(api().GET("/api/v1/organizations/{organization_id}/members", { params: { path: { organization_id: organizationId } }, signal })),
  });
  return (
    <>
      <h3>Members</h3>
      {members.isPending ? <Busy label="Loading the members…" /> : null}
      <ErrorText error={members.error} />
      {members.data ? (
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">Members of {organizationName}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
              </tr>
            </thead>
            <tbody>
              {members.data.items.map((m) => (
                <tr key={m.user_id}>
                  <th scope="row">{m.full_name}</th>
                  <td>{m.email}</td>
                  <td>{words(m.role)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}

function LlmKeys({ organizationId }: { organizationId: string }) {
  const key = ["org", organizationId, "secrets"];
  const secrets = useQuery({
    queryKey: key,
    queryFn: ({ signal }) => ok(api().GET("/api/v1/organizations/{organization_id}/secrets", { params: { path: { organization_id: organizationId } }, signal })),
  });
  return (
    <>
      <h3>LLM keys</h3>
      <p className="hint">
        With a key, the agents and the chat write with that model; every figure still comes from the engine. A key is stored encrypted and never shown again: only
        its masked hint.
      </p>
      {secrets.isPending ? <Busy label="Loading the keys…" /> : null}
      <ErrorText error={secrets.error} />
      {secrets.data ? (
        <ul className="secrets">
          {secrets.data.names.map((name) => (
            <li key={name}>
              <SecretRow organizationId={organizationId} name={name} current={secrets.data.items.find((s) => s.name === name)} queryKey={key} />
            </li>
          ))}
        </ul>
      ) : null}
    </>
  );
}

function SecretRow({ organizationId, name, current, queryKey }: { organizationId: string; name: string; current?: SecretRead; queryKey: string[] }) {
  const id = useId();
  const queryClient = useQueryClient();
  const [value, setValue] = useState("");
  const [saved, setSaved] = useState<string | null>(null);
  const label = SECRET_LABELS[name] ?? words(name);
  const path = { organization_id: organizationId, name: name as SecretRead["name"] };
  const put = useMutation({
    mutationFn: (secret: string) => ok(api().PUT("/api/v1/organizations/{organization_id}/secrets/{name}", { params: { path }, body: { value: secret } })),
    onSuccess: async () => {
      setValue("");
      setSaved(`${label} saved.`);
      await queryClient.invalidateQueries({ queryKey });
    },
  });
  const remove = useMutation({
    mutationFn: () => ok(api().DELETE("/api/v1/organizations/{organization_id}/secrets/{name}", { params: { path } })),
    onSuccess: async () => {
      setSaved(`${label} removed.`);
      await queryClient.invalidateQueries({ queryKey });
    },
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setSaved(null);
    put.mutate(value.trim());
  };
  const fieldError = put.error instanceof ApiError ? put.error.fieldErrors.value : undefined;
  return (
    <form onSubmit={onSubmit} className="secret">
      <p className="secret-name" id={`${id}-name`}>
        {label}:{" "}
        {current ? (
          <>
            <code>{current.hint}</code> <span className="muted">set {dateTime(current.updated_at)}</span>
          </>
        ) : (
          <span className="muted">not set</span>
        )}
      </p>
      <div className="toolbar">
        <InputField
          label={current ? `New ${label}` : label}
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          error={fieldError}
        />
        <button type="submit" disabled={!value.trim() || put.isPending}>
          {current ? "Replace" : "Save"}
        </button>
        {current ? (
          <button type="button" className="button-quiet" onClick={() => remove.mutate()} disabled={remove.isPending}>
            Remove {label}
          </button>
        ) : null}
      </div>
      {saved ? <p role="status">{saved}</p> : null}
      <ErrorText error={put.error ?? remove.error} />
    </form>
  );
}
