import { useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router";
import { api, ok } from "../api/client";
import { asRequirementsBody } from "../api/types";
import { RequirementsForm } from "../features/requirements/RequirementsForm";
import { usePageTitle } from "../lib/usePageTitle";

export default function NewAssessment() {
  usePageTitle("New assessment");
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const create = async (requirements: Record<string, unknown>) => {
    const title = String(requirements.name ?? "").trim() || "Untitled assessment";
    const created = await ok(api().POST("/api/v1/assessments", { body: { title, requirements: asRequirementsBody(requirements) } }));
    await queryClient.invalidateQueries({ queryKey: ["assessments"] });
    queryClient.setQueryData(["assessment", created.id], created);
    navigate(`/assessments/${created.id}`);
  };
  return (
    <div className="page">
      <h1 tabIndex={-1}>New assessment</h1>
      <p className="lead">
        Describe the business and its workloads; Infra Mind prices architectures on AWS, Azure and Google Cloud from its dated catalog.
      </p>
      <RequirementsForm submitLabel="Create assessment" onSubmit={create} />
    </div>
  );
}
