/** Run, follow and cancel: the progress of each agent step as the server reports it. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { api, ok } from "../../api/client";
import { ACTIVE, type AssessmentRead } from "../../api/types";
import { ErrorText } from "../../components/Feedback";
import { sentence } from "../../api/errors";
import { StatusBadge } from "./StatusBadge";
import { useRunEvents } from "./useRunEvents";

/** The step a run reports when a worker claims it (``worker.tasks``), before any work. */
const STARTING = "starting";

export function RunPanel({ assessment, hasResult }: { assessment: AssessmentRead; hasResult: boolean }) {
  const id = useId();
  const queryClient = useQueryClient();
  const [runKey, setRunKey] = useState(0);
  const active = ACTIVE.includes(assessment.status);
  const { steps: reported, streamError } = useRunEvents(assessment.id, assessment.status, runKey);
  // "starting" is the claim, not a step of the work: a finished run that listed only
  // "1. ✓ starting" (an offline run is over within a status read or two) read as if it
  // had stopped there
  const steps = active ? reported : reported.filter((step) => step.label !== STARTING);

  const run = useMutation({
    mutationFn: () =>
      ok(
        api().POST("/api/v1/assessments/{assessment_id}/run", {
          params: { path: { assessment_id: assessment.id }, header: { "idempotency-key": crypto.randomUUID() } },
        }),
      ),
    onSuccess: (accepted) => {
      queryClient.setQueryData(["assessment", assessment.id], accepted.assessment);
      setRunKey((k) => k + 1);
    },
  });
  const cancel = useMutation({
    mutationFn: () => ok(api().POST("/api/v1/assessments/{assessment_id}/cancel", { params: { path: { assessment_id: assessment.id } } })),
    onSuccess: (updated) => {
      queryClient.setQueryData(["assessment", assessment.id], updated);
      void queryClient.invalidateQueries({ queryKey: ["assessments"] });
    },
  });

  const statusLine = (() => {
    switch (assessment.status) {
      case "queued":
        return "Queued: waiting for a worker…";
      case "running":
        return `Running${assessment.current_step ? `: ${assessment.current_step}` : "…"} (${assessment.progress}%)`;
      case "completed":
        return "The run completed.";
      case "failed":
        return assessment.error ? `The run failed: ${sentence(assessment.error)}` : "The run failed.";
      case "cancelled":
        return "The run was cancelled.";
      default:
        return hasResult ? "" : "Not run yet: run it to get priced options.";
    }
  })();

  return (
    <section className="panel run-panel" aria-labelledby={`${id}-h`} id="run">
      <div className="panel-head">
        <h2 id={`${id}-h`}>Run</h2>
        <StatusBadge status={assessment.status} />
      </div>
      {active ? (
        <progress className="run-progress" max={100} value={assessment.progress} aria-label="Run progress" aria-valuetext={`${assessment.progress}%`} />
      ) : null}
      <p role="status" className={assessment.status === "failed" ? "error" : "note"}>
        {statusLine}
      </p>
      {steps.length ? (
        <ol className="steps" aria-label="Steps">
          {steps.map((step, i) => {
            const done = i < steps.length - 1 || !active;
            return (
              <li key={step.label} className={done ? "step-done" : "step-current"} aria-current={done ? undefined : "step"}>
                <span aria-hidden="true">{done ? "✓" : "…"}</span> {step.label}
              </li>
            );
          })}
        </ol>
      ) : null}
      <div className="form-actions">
        {active ? (
          <button type="button" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
            Cancel
          </button>
        ) : (
          <button type="button" className="button-primary" onClick={() => run.mutate()} disabled={run.isPending}>
            {assessment.status === "draft" ? "Run" : "Run again"}
          </button>
        )}
        {run.isPending ? <span role="status">Starting the run…</span> : null}
      </div>
      <ErrorText error={run.error ?? cancel.error ?? (active ? streamError : null)} />
    </section>
  );
}
