/**
 * Follows a run through `/assessments/{id}/events` (server-sent `status` events, read with
 * fetch so the Bearer token goes with them). Each change updates the cached assessment; each
 * new step is remembered in order, so the page lists the agents' steps as they happen.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { streamEvents } from "../../api/stream";
import { ACTIVE, type AssessmentRead, type AssessmentStatus } from "../../api/types";

export interface StatusEvent {
  status: AssessmentStatus;
  progress: number;
  current_step: string | null;
  error: string | null;
}

export interface Step {
  label: string;
  progress: number;
}

/** The steps seen so far, in order, each once. */
export function addStep(steps: Step[], event: StatusEvent): Step[] {
  const label = event.current_step;
  if (!label || steps.some((s) => s.label === label)) return steps;
  return [...steps, { label, progress: event.progress }];
}

export function parseStatusEvent(data: string): StatusEvent | null {
  try {
    const value = JSON.parse(data) as Partial<StatusEvent>;
    if (typeof value.status !== "string") return null;
    return { status: value.status, progress: Number(value.progress ?? 0), current_step: value.current_step ?? null, error: value.error ?? null };
  } catch {
    return null;
  }
}

const RECONNECT_MS = 2_000;
const MAX_RECONNECTS = 30;

export function useRunEvents(id: string, status: AssessmentStatus | undefined, runKey: number): { steps: Step[]; streamError: unknown } {
  const queryClient = useQueryClient();
  const [steps, setSteps] = useState<Step[]>([]);
  const [streamError, setStreamError] = useState<unknown>(null);
  // following starts when a run is active and ends with its stream, not with the status it
  // reports: the last event turns the status to "completed", and the stream must still be
  // read to its end (and the result fetched) after that
  const [following, setFollowing] = useState(false);
  const active = status !== undefined && ACTIVE.includes(status);
  const previous = useRef(status);

  useEffect(() => {
    if (runKey > 0) setSteps([]);
  }, [runKey]);

  useEffect(() => {
    if (active) setFollowing(true);
  }, [active, runKey]);

  // however the end of a run was learnt (the stream, a refetch), its result is fetched now
  useEffect(() => {
    const before = previous.current;
    previous.current = status;
    if (before !== undefined && ACTIVE.includes(before) && status !== undefined && !ACTIVE.includes(status)) {
      void queryClient.invalidateQueries({ queryKey: ["assessment", id] });
      void queryClient.invalidateQueries({ queryKey: ["assessments"] });
    }
  }, [id, queryClient, status]);

  useEffect(() => {
    if (!following) return;
    const controller = new AbortController();
    let attempts = 0;
    const follow = async () => {
      while (!controller.signal.aborted && attempts <= MAX_RECONNECTS) {
        let last: StatusEvent | null = null;
        try {
          for await (const message of streamEvents(`/assessments/${id}/events`, { signal: controller.signal })) {
            if (message.event !== "status") continue;
            const event = parseStatusEvent(message.data);
            if (!event) continue;
            last = event;
            attempts = 0;
            setStreamError(null);
            setSteps((current) => addStep(current, event));
            queryClient.setQueryData<AssessmentRead>(["assessment", id], (current) => (current ? { ...current, ...event } : current));
          }
        } catch (error) {
          if (controller.signal.aborted) return;
          setStreamError(error);
        }
        if (controller.signal.aborted) return;
        if (last && !ACTIVE.includes(last.status)) return; // the run ended
        // the stream broke off mid-run: ask again after a pause
        attempts += 1;
        await new Promise((r) => setTimeout(r, RECONNECT_MS));
        await queryClient.invalidateQueries({ queryKey: ["assessment", id], exact: true });
      }
    };
    void follow().finally(() => {
      if (!controller.signal.aborted) setFollowing(false);
    });
    return () => controller.abort();
  }, [following, id, queryClient]);

  return { steps, streamError };
}
