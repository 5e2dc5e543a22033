/** One assessment: run it and follow it, then its results, what-if, reports, and chat beside them. */
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router";
import { ApiError } from "../api/errors";
import { saveBlob } from "../api/stream";
import { ACTIVE, asResult, type BudgetLever } from "../api/types";
import { Busy, ErrorText } from "../components/Feedback";
import { ChatPanel } from "../features/chat/ChatPanel";
import { ReportsPanel } from "../features/reports/ReportsPanel";
import { toYaml, yamlFilename } from "../features/requirements/yamlio";
import { assessmentQuery, resultQuery } from "../features/results/queries";
import { ResultsView } from "../features/results/ResultsView";
import { StatusBadge } from "../features/run/StatusBadge";
import { RunPanel } from "../features/run/RunPanel";
import { WhatIfPanel } from "../features/whatif/WhatIfPanel";
import { dateTime } from "../lib/format";
import { usePageTitle } from "../lib/usePageTitle";

export default function AssessmentPage() {
  const { id = "" } = useParams();
  const assessment = useQuery(assessmentQuery(id));
  const status = assessment.data?.status;
  // a result exists once a run has completed (a later run may be under way meanwhile)
  const result = useQuery({ ...resultQuery(id), enabled: Boolean(status && status !== "draft") });
  const [yamlError, setYamlError] = useState<string | null>(null);
  // a budget lever tried from the results: the what-if panel starts afresh with it
  const [lever, setLever] = useState<{ lever: BudgetLever; n: number; version: number } | null>(null);
  usePageTitle(assessment.data?.title ?? "Assessment");

  if (assessment.isPending) {
    return (
      <div className="page">
        <h1 tabIndex={-1} className="visually-hidden">
          Assessment
        </h1>
        <Busy label="Loading the assessment…" />
      </div>
    );
  }
  if (assessment.error || !assessment.data) {
    return (
      <div className="page page-narrow">
        <h1 tabIndex={-1}>Assessment not available</h1>
        <ErrorText error={assessment.error} />
        <p>
          <Link to="/assessments">Back to your assessments</Link>
        </p>
      </div>
    );
  }

  const a = assessment.data;
  const stored = result.data ? asResult(result.data.result) : null;
  const noResultYet = result.error instanceof ApiError && result.error.status === 404;
  const downloadYaml = async () => {
    setYamlError(null);
    try {
      saveBlob(new Blob([await toYaml(a.requirements)], { type: "application/yaml" }), yamlFilename(a.title));
    } catch {
      setYamlError("The YAML could not be made; try again.");
    }
  };

  return (
    <div className="page assessment-page">
      <div className="page-head">
        <div>
          <p className="crumbs">
            <Link to="/assessments">Assessments</Link>
          </p>
          <h1 tabIndex={-1}>{a.title}</h1>
          <p className="muted">
            <StatusBadge status={a.status} /> Created {dateTime(a.created_at)} · updated {dateTime(a.updated_at)}
          </p>
        </div>
        <div className="form-actions">
          <button type="button" onClick={() => void downloadYaml()}>
            Download requirements as YAML
          </button>
        </div>
      </div>
      <ErrorText error={yamlError} />
      {stored ? (
        <nav aria-label="On this page" className="on-this-page">
          <a href="#run">Run</a>
          <a href="#results">Results</a>
          <a href="#what-if">What-if</a>
          <a href="#reports">Reports</a>
          <a href="#chat">Chat</a>
        </nav>
      ) : null}
      <div className="assessment-grid">
        <div className="assessment-main">
          <RunPanel assessment={a} hasResult={Boolean(stored)} />
          <div id="results">
            {result.isFetching && !stored ? <Busy label="Loading the result…" /> : null}
            {result.error && !noResultYet ? <ErrorText error={result.error} /> : null}
            {stored && result.data ? (
              <>
                {ACTIVE.includes(a.status) ? <p className="note">Showing the result of the previous run until this one completes.</p> : null}
                <ResultsView
                  key={result.data.version}
                  result={stored}
                  createdAt={result.data.created_at}
                  onTryLever={(l) => setLever({ lever: l, n: (lever?.n ?? 0) + 1, version: result.data.version })}
                />
              </>
            ) : null}
          </div>
          {stored && result.data ? (
            <WhatIfPanel
              key={`w${result.data.version}:${lever?.n ?? 0}`}
              assessmentId={a.id}
              current={stored}
              lever={lever?.version === result.data.version ? lever.lever : null}
            />
          ) : null}
          {stored && result.data ? <ReportsPanel assessmentId={a.id} resultVersion={result.data.version} /> : null}
        </div>
        <aside className="assessment-side">
          <ChatPanel assessmentId={a.id} />
        </aside>
      </div>
    </div>
  );
}
