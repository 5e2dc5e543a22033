/** The executive, technical and compliance reports, read in the page (their JSON form) and downloaded. */
import { useQuery } from "@tanstack/react-query";
import { useId, useState } from "react";
import { errorMessage } from "../../api/errors";
import { fetchFile, saveBlob } from "../../api/stream";
import { apiUrl, authFetch } from "../../api/session";
import { errorFromResponse } from "../../api/errors";
import type { ReportKind } from "../../api/types";
import { Busy, ErrorText } from "../../components/Feedback";
import { Markdown } from "../../components/Markdown";
import { money, num, percent, unitPrice } from "../../lib/format";

const KINDS: { kind: ReportKind; label: string }[] = [
  { kind: "executive", label: "Executive" },
  { kind: "technical", label: "Technical" },
  { kind: "compliance", label: "Compliance" },
];

const FORMATS = [
  { format: "html", label: "HTML", ext: "html" },
  { format: "md", label: "Markdown", ext: "md" },
  { format: "json", label: "JSON", ext: "json" },
] as const;

export interface ReportTable {
  columns: string[];
  kinds: string[];
  rows: unknown[][];
}
export interface ReportSection {
  key: string;
  title: string;
  markdown?: string;
  table?: ReportTable;
}
export interface ReportDocument {
  kind: string;
  title: string;
  subtitle?: string;
  notes?: string[];
  sections: ReportSection[];
}

/** A table cell as its column's kind says: money, percent, count, price, yes/no or text. */
export function cell(value: unknown, kind: string | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return value ? "Yes" : "No";
  if (typeof value === "number") {
    if (kind === "money") return money(value);
    if (kind === "percent") return percent(value);
    if (kind === "price") return unitPrice(value);
    return num(value);
  }
  return String(value);
}

async function loadReport(assessmentId: string, kind: ReportKind, signal: AbortSignal): Promise<ReportDocument> {
  const response = await authFetch(new Request(apiUrl(`/assessments/${assessmentId}/reports/${kind}?format=json`), { signal }));
  if (!response.ok) throw await errorFromResponse(response);
  return (await response.json()) as ReportDocument;
}

export function ReportsPanel({ assessmentId, resultVersion }: { assessmentId: string; resultVersion: number }) {
  const id = useId();
  // nothing is read until asked: a report's own headings ("Recommendation", ...) would
  // otherwise stand beside the results' on the page
  const [kind, setKind] = useState<ReportKind | null>(null);
  const [downloading, setDownloading] = useState<string | null>(null);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const report = useQuery({
    queryKey: ["assessment", assessmentId, "report", kind, resultVersion],
    queryFn: ({ signal }) => loadReport(assessmentId, kind as ReportKind, signal),
    enabled: kind !== null,
    staleTime: Infinity,
  });

  const download = async (which: ReportKind, format: string, ext: string) => {
    setDownloading(`${which}.${format}`);
    setDownloadError(null);
    try {
      const file = await fetchFile(`/assessments/${assessmentId}/reports/${which}?format=${format}`, `${which}-report.${ext}`);
      saveBlob(file.blob, file.filename);
    } catch (error) {
      setDownloadError(errorMessage(error));
    } finally {
      setDownloading(null);
    }
  };

  return (
    <section className="panel" aria-labelledby={`${id}-h`} id="reports">
      <h2 id={`${id}-h`}>Reports</h2>
      <ul className="report-list">
        {KINDS.map((k) => {
          const name = `${k.label.toLowerCase()} report`;
          return (
            <li key={k.kind}>
              <span className="report-name">{k.label}</span>
              <button type="button" aria-expanded={kind === k.kind} aria-controls={`${id}-view`} onClick={() => setKind(kind === k.kind ? null : k.kind)}>
                {kind === k.kind ? `Close the ${name}` : `Read the ${name}`}
              </button>
              {FORMATS.map((f) => (
                <button key={f.format} type="button" className="button-quiet" onClick={() => void download(k.kind, f.format, f.ext)} disabled={downloading !== null}>
                  Download the {name} ({f.label})
                </button>
              ))}
            </li>
          );
        })}
      </ul>
      {downloading ? <Busy label="Preparing the download…" /> : null}
      <ErrorText error={downloadError} />
      <div id={`${id}-view`}>
        {kind && report.isPending ? <Busy label="Writing the report…" /> : null}
        {kind ? <ErrorText error={report.error} /> : null}
        {kind && report.data ? <ReportView report={report.data} /> : null}
      </div>
    </section>
  );
}

export function ReportView({ report }: { report: ReportDocument }) {
  return (
    <article className="report" aria-label={report.title}>
      <h3>{report.title}</h3>
      {report.subtitle ? <p className="lead">{report.subtitle}</p> : null}
      {report.notes?.length ? (
        <ul className="notes">
          {report.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      ) : null}
      {report.sections.map((s) => (
        <section key={s.key} className="report-section">
          <h4>{s.title}</h4>
          {s.markdown ? <Markdown text={s.markdown} headingLevel={5} /> : null}
          {s.table ? (
            <div className="table-wrap" role="region" aria-label={s.title} tabIndex={0}>
              <table className="table">
                <thead>
                  <tr>
                    {s.table.columns.map((c, i) => (
                      <th key={c} scope="col" className={["money", "percent", "count", "number", "price"].includes(s.table?.kinds[i] ?? "") ? "num" : undefined}>
                        {c}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {s.table.rows.map((row, r) => (
                    <tr key={r}>
                      {row.map((value, i) => (
                        <td key={i} className={["money", "percent", "count", "number", "price"].includes(s.table?.kinds[i] ?? "") ? "num" : undefined}>
                          {cell(value, s.table?.kinds[i])}
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
        </section>
      ))}
    </article>
  );
}
