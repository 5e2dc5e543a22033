/** Compliance controls, filterable by framework and status. */
import { useId, useMemo, useState } from "react";
import type { ControlResult } from "../../api/types";
import { FRAMEWORK_LABELS, money } from "../../lib/format";

const STATUS_WORDS: Record<string, string> = { met: "Met", gap: "Gap", customer: "Customer's own" };

export function ComplianceControls({ controls }: { controls: ControlResult[] }) {
  const id = useId();
  const [framework, setFramework] = useState("");
  const [status, setStatus] = useState("");
  const frameworks = useMemo(() => [...new Set(controls.map((c) => c.framework))], [controls]);
  const shown = controls.filter((c) => (!framework || c.framework === framework) && (!status || c.status === status));
  if (!controls.length) return <p className="empty">No compliance framework was asked for.</p>;
  const count = (s: string) => shown.filter((c) => c.status === s).length;
  return (
    <>
      <div className="toolbar">
        <div className="field">
          <label htmlFor={`${id}-fw`}>Framework</label>
          <select id={`${id}-fw`} value={framework} onChange={(e) => setFramework(e.target.value)}>
            <option value="">All frameworks</option>
            {frameworks.map((f) => (
              <option key={f} value={f}>
                {FRAMEWORK_LABELS[f] ?? f}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-st`}>Control status</label>
          <select id={`${id}-st`} value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">Any status</option>
            <option value="met">Met by the design</option>
            <option value="gap">Gap</option>
            <option value="customer">Customer's own process</option>
          </select>
        </div>
      </div>
      <p role="status" className="note">
        {shown.length} of {controls.length} controls shown: {count("met")} met, {count("gap")} {count("gap") === 1 ? "gap" : "gaps"}, {count("customer")} for your own processes.
      </p>
      <div className="table-wrap" role="region" aria-label="Compliance controls" tabIndex={0}>
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Framework</th>
              <th scope="col">Control</th>
              <th scope="col">Status</th>
              <th scope="col">Evidence or remediation</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((c) => (
              <tr key={`${c.framework}-${c.control_id}`}>
                <td>{FRAMEWORK_LABELS[c.framework] ?? c.framework}</td>
                <th scope="row">
                  <span className="control-id">
                    {c.control_id} ({c.reference})
                  </span>{" "}
                  {c.title}
                </th>
                <td>
                  <span className={`badge badge-control-${c.status}`}>{STATUS_WORDS[c.status] ?? c.status}</span>
                </td>
                <td>
                  {c.evidence ? <p>{c.evidence}</p> : null}
                  {c.remediation ? (
                    <p>
                      <strong>Remediation:</strong> {c.remediation}
                      {c.remediation_monthly_usd !== null && c.remediation_monthly_usd !== undefined ? ` (${money(c.remediation_monthly_usd)} a month)` : ""}
                      {c.remediation_cost_note ? <span className="cell-note"> {c.remediation_cost_note}</span> : null}
                    </p>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {shown.length === 0 ? <p className="empty">No control matches these filters.</p> : null}
    </>
  );
}
