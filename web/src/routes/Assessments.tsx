import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api, ok } from "../api/client";
import type { AssessmentStatus, AssessmentSummary } from "../api/types";
import { Busy, ErrorText } from "../components/Feedback";
import { StatusBadge } from "../features/run/StatusBadge";
import { dateTime, money, providerName, STATUS_LABELS } from "../lib/format";
import { usePageTitle } from "../lib/usePageTitle";

const PAGE = 20;
const STATUSES = Object.keys(STATUS_LABELS) as AssessmentStatus[];

export default function Assessments() {
  usePageTitle("Assessments");
  const [params, setParams] = useSearchParams();
  const status = (params.get("status") ?? "") as AssessmentStatus | "";
  const offset = Math.max(0, Number(params.get("offset") ?? 0) || 0);
  const [search, setSearch] = useState("");
  const searchId = useId();

  const list = useQuery({
    queryKey: ["assessments", { status, offset }],
    queryFn: ({ signal }) =>
      ok(api().GET("/api/v1/assessments", { params: { query: { limit: PAGE, offset, ...(status ? { status } : {}) } }, signal })),
    placeholderData: keepPreviousData,
  });

  const items = list.data?.items ?? [];
  const shown = useMemo(() => {
    const needle = search.trim().toLowerCase();
    return needle ? items.filter((a) => a.title.toLowerCase().includes(needle)) : items;
  }, [items, search]);

  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    if (name !== "offset") next.delete("offset");
    setParams(next, { replace: true });
  };

  return (
    <div className="page">
      <div className="page-head">
        <h1 tabIndex={-1}>Assessments</h1>
        <Link to="/assessments/new" className="button button-primary">
          New assessment
        </Link>
      </div>
      <div className="toolbar" role="search">
        <div className="field">
          <label htmlFor={searchId}>Search assessments</label>
          <input id={searchId} type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Title contains…" />
        </div>
        <div className="field">
          <label htmlFor={`${searchId}-status`}>Status</label>
          <select id={`${searchId}-status`} value={status} onChange={(e) => setFilter("status", e.target.value)}>
            <option value="">Any status</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {STATUS_LABELS[s]}
              </option>
            ))}
          </select>
        </div>
      </div>
      {list.isPending ? <Busy label="Loading your assessments…" /> : null}
      <ErrorText error={list.error} />
      {list.data ? (
        list.data.total === 0 ? (
          <p className="empty">
            {status ? `No assessment is ${STATUS_LABELS[status]?.toLowerCase()}.` : "No assessments yet."}{" "}
            <Link to="/assessments/new">Describe your business and workloads</Link> to get priced architectures on AWS, Azure and Google Cloud.
          </p>
        ) : (
          <>
            <AssessmentTable items={shown} />
            {shown.length === 0 ? <p className="empty">No assessment on this page has “{search}” in its title.</p> : null}
            <Pager total={list.data.total} offset={offset} onOffset={(o) => setFilter("offset", o ? String(o) : "")} />
          </>
        )
      ) : null}
    </div>
  );
}

function AssessmentTable({ items }: { items: AssessmentSummary[] }) {
  // each item carries its latest result's recommendation: no request per result
  return (
    <div className="table-wrap">
      <table className="table">
        <caption className="visually-hidden">Your assessments, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Title</th>
            <th scope="col">Status</th>
            <th scope="col" className="num">
              Monthly cost
            </th>
            <th scope="col">Recommended</th>
            <th scope="col">Updated</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((a) => {
            const cost = a.recommended_monthly_cost_usd;
            return (
              <tr key={a.id}>
                <th scope="row">
                  <Link to={`/assessments/${a.id}`}>{a.title}</Link>
                </th>
                <td>
                  <StatusBadge status={a.status} />
                  {a.status === "running" && a.current_step ? <span className="muted"> {a.current_step}</span> : null}
                </td>
                <td className="num">{cost === null ? "—" : money(cost)}</td>
                <td>{a.recommended_provider ? `${providerName(a.recommended_provider)} ${a.recommended_region ?? ""}`.trim() : "—"}</td>
                <td>{dateTime(a.updated_at)}</td>
                <td>
                  <DeleteButton assessment={a} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function DeleteButton({ assessment }: { assessment: AssessmentSummary }) {
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const remove = useMutation({
    mutationFn: () => ok(api().DELETE("/api/v1/assessments/{assessment_id}", { params: { path: { assessment_id: assessment.id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["assessments"] }),
  });
  if (!confirming) {
    return (
      <button type="button" className="button-quiet" onClick={() => setConfirming(true)} aria-label={`Delete ${assessment.title}`}>
        Delete
      </button>
    );
  }
  return (
    <div className="confirm" role="group" aria-label={`Delete ${assessment.title}?`}>
      <span>Delete it for good?</span>
      <button type="button" className="button-danger" onClick={() => remove.mutate()} disabled={remove.isPending} autoFocus>
        {remove.isPending ? "Deleting…" : `Yes, delete`}
      </button>
      <button type="button" className="button-quiet" onClick={() => setConfirming(false)} disabled={remove.isPending}>
        Keep
      </button>
      <ErrorText error={remove.error} />
    </div>
  );
}

function Pager({ total, offset, onOffset }: { total: number; offset: number; onOffset: (offset: number) => void }) {
  if (total <= PAGE) return null;
  const page = Math.floor(offset / PAGE) + 1;
  const pages = Math.ceil(total / PAGE);
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" onClick={() => onOffset(Math.max(0, offset - PAGE))} disabled={offset === 0}>
        Previous page
      </button>
      <span>
        Page {page} of {pages} ({total} assessments)
      </span>
      <button type="button" onClick={() => onOffset(offset + PAGE)} disabled={offset + PAGE >= total}>
        Next page
      </button>
    </nav>
  );
}
