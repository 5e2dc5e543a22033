import { queryOptions } from "@tanstack/react-query";
import { api, ok } from "../../api/client";

/** The latest result of an assessment (404 "no result yet" before its first run completes). */
export function resultQuery(id: string) {
  return queryOptions({
    queryKey: ["assessment", id, "result"],
    queryFn: ({ signal }) => ok(api().GET("/api/v1/assessments/{assessment_id}/result", { params: { path: { assessment_id: id } }, signal })),
  });
}

export function assessmentQuery(id: string) {
  return queryOptions({
    queryKey: ["assessment", id],
    queryFn: ({ signal }) => ok(api().GET("/api/v1/assessments/{assessment_id}", { params: { path: { assessment_id: id } }, signal })),
  });
}
