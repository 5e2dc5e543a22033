import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { api, ok } from "../src/api/client";
import { COUNTRIES } from "../src/api/engine-meta.gen";
import { asRequirementsBody } from "../src/api/types";
import { fromDocument, toDocument } from "../src/features/requirements/convert";
import { RequirementsForm } from "../src/features/requirements/RequirementsForm";
import { captureDownloads, example, signedInUser, signedOut } from "./helpers";

beforeAll(signedInUser);
afterAll(signedOut);

/** The form, creating assessments on the real API as the New assessment page does. */
function renderForm(overrides: (doc: Record<string, unknown>) => Record<string, unknown> = (d) => d) {
  const created: string[] = [];
  const sent: Record<string, unknown>[] = [];
  render(
    <RequirementsForm
      submitLabel="Create assessment"
      onSubmit={async (doc) => {
        sent.push(doc);
        const body = overrides(doc);
        const a = await ok(api().POST("/api/v1/assessments", { body: { title: String(body.name || "untitled"), requirements: asRequirementsBody(body) } }));
        created.push(a.id);
      }}
    />,
  );
  return { created, sent };
}

const workloadGroups = () => screen.queryAllByRole("group", { name: /^Workload \d+:/ });

describe("the requirements form", () => {
  test("workloads are added and removed by kind, each with the fields its kind takes", async () => {
    const user = userEvent.setup();
    renderForm();
    await user.selectOptions(screen.getByLabelText("Kind of workload"), "Database");
    await user.click(screen.getByRole("button", { name: "Add workload" }));
    const database = screen.getByRole("group", { name: "Workload 1: database (Database)" });
    expect(within(database).getByLabelText("Storage (GB)")).toBeRequired();
    expect(within(database).getByLabelText("Engine")).toHaveDisplayValue("Postgresql".replace("Postgresql", "PostgreSQL"));
    expect(within(database).queryByLabelText("Peak requests per second")).toBeNull();
    // the new workload's name box has the focus, to be named at once
    expect(within(database).getByLabelText("Name")).toHaveFocus();

    await user.selectOptions(screen.getByLabelText("Kind of workload"), "Worker");
    await user.click(screen.getByRole("button", { name: "Add workload" }));
    const worker = screen.getByRole("group", { name: "Workload 2: worker (Worker)" });
    expect(within(worker).getByLabelText("vCPUs")).toBeInTheDocument();
    expect(within(worker).queryByLabelText("GPUs at once")).toBeNull();
    await user.click(within(worker).getByLabelText("Needs gpus"));
    expect(within(worker).getByLabelText("GPUs at once")).toBeInTheDocument();
    expect(within(worker).getByLabelText("GPU model")).toBeInTheDocument();

    await user.selectOptions(screen.getByLabelText("Kind of workload"), "Web service");
    await user.click(screen.getByRole("button", { name: "Add workload" }));
    expect(within(screen.getByRole("group", { name: "Workload 3: web-service (Web service)" })).getByLabelText("Peak requests per second")).toBeRequired();

    await user.click(within(database).getByRole("button", { name: "Remove database" }));
    expect(workloadGroups().map((g) => g.querySelector("legend")?.textContent)).toEqual(["Workload 1: worker (Worker)", "Workload 2: web-service (Web service)"]);
    expect(screen.getByRole("button", { name: "Add workload" })).toHaveFocus();
  });

  test("a box out of the schema's bounds is refused beside it before anything is sent", async () => {
    const user = userEvent.setup();
    const { sent } = renderForm();
    await user.type(screen.getByLabelText("Assessment name"), "Bounds");
    await user.type(screen.getByLabelText("Projection horizon (months)"), "61");
    await user.click(screen.getByRole("button", { name: "Add workload" }));
    await user.click(screen.getByRole("button", { name: "Create assessment" }));
    expect(await screen.findByLabelText("Projection horizon (months)")).toHaveAccessibleDescription(/^Must be at most 60\./);
    expect(screen.getByLabelText("Peak requests per second")).toHaveAccessibleDescription(/^Required\./);
    expect(sent).toHaveLength(0);
  });

  test("the server's field-path errors are shown beside the fields and parts they name", async () => {
    const user = userEvent.setup();
    // the server refuses a value this page let through (as when its schema is newer than the
    // page's): what it says lands beside the field it names
    const { created } = renderForm((doc) => ({ ...doc, business: { horizon_months: 61 } }));
    await user.type(screen.getByLabelText("Assessment name"), "Server says no");
    await user.selectOptions(screen.getByLabelText("Kind of workload"), "Worker");
    await user.click(screen.getByRole("button", { name: "Add workload" }));
    await user.click(screen.getByRole("button", { name: "Create assessment" }));

    const summary = await screen.findByText(/^The requirements were refused: 2 problems/);
    const horizon = screen.getByLabelText("Projection horizon (months)");
    expect(horizon).toHaveAttribute("aria-invalid", "true");
    expect(horizon).toHaveAccessibleDescription(/^Input should be less than or equal to 60\./);
    // a rule over a whole workload (the model's own check) shows in that workload's box
    const worker = screen.getByRole("group", { name: "Workload 1: worker (Worker)" });
    expect(within(worker).getByText("Give exactly one of vcpu_hours_per_month or vcpu.")).toBeInTheDocument();
    // the summary names each in words and links to it
    const links = within(summary.closest("[role=alert]") as HTMLElement).getAllByRole("link");
    expect(links.map((l) => l.textContent)).toEqual(["Business, Projection horizon (months)", "Workload 1 (worker)"]);
    expect(links[0]).toHaveAttribute("href", `#${horizon.id}`);
    expect(created).toHaveLength(0);

    // editing the field takes its error away
    await user.type(horizon, "1");
    expect(horizon).not.toHaveAttribute("aria-invalid");
  });

  test("no workload at all is the server's to refuse, beside the Workloads section", async () => {
    const user = userEvent.setup();
    renderForm();
    await user.type(screen.getByLabelText("Assessment name"), "Nothing to run");
    await user.click(screen.getByRole("button", { name: "Create assessment" }));
    const section = screen.getByRole("region", { name: "Workloads" });
    expect(await within(section).findByText("List should have at least 1 item after validation, not 0.")).toBeInTheDocument();
  });

  test("pasted YAML fills the form, and the form creates that assessment", async () => {
    const user = userEvent.setup();
    const { text, doc } = example("saas-startup");
    const { created, sent } = renderForm();
    fireEvent.change(screen.getByLabelText("Requirements (YAML or JSON)"), { target: { value: text } });
    await waitFor(() => expect(screen.getByLabelText("Assessment name")).toHaveValue("SaaS startup (B2B project management)"));
    expect(screen.getByRole("status", { name: "" })).toHaveTextContent("The form now holds “SaaS startup (B2B project management)” with 5 workloads.");
    expect(workloadGroups()).toHaveLength(5);
    const web = screen.getByRole("group", { name: "Workload 1: web-api (Web service)" });
    expect(within(web).getByLabelText("Peak requests per second")).toHaveValue("120");
    expect(within(web).getByLabelText("Peak hours a day")).toHaveValue("6");
    expect(screen.getByLabelText("Monthly budget (USD)")).toHaveValue("1500");
    expect(within(screen.getByRole("group", { name: "Compliance frameworks" })).getByLabelText("SOC 2")).toBeChecked();
    expect(within(screen.getByRole("group", { name: "Where the users are" })).getByLabelText("United States (us)")).toBeChecked();
    expect(screen.getByLabelText("Kubernetes")).toHaveValue("avoid");

    await user.click(screen.getByRole("button", { name: "Create assessment" }));
    await waitFor(() => expect(created).toHaveLength(1));
    // what was sent is the pasted document itself
    expect(sent[0]).toEqual(doc);
  });

  test("users and data residency take region groups or, to be precise, countries named in full", async () => {
    const user = userEvent.setup();
    const { text } = example("saas-startup");
    const { created, sent } = renderForm();
    fireEvent.change(screen.getByLabelText("Requirements (YAML or JSON)"), { target: { value: text } });
    await waitFor(() => expect(workloadGroups()).toHaveLength(5));
    const users = within(screen.getByRole("group", { name: "Where the users are" }));
    // the groups first, as before, then each country the latency table covers, by name
    const labels = users.getAllByRole("checkbox").map((b) => b.parentElement?.textContent ?? "");
    expect(labels.slice(0, 8)).toEqual([
      "United States (us)", "Canada (ca)", "European Union (eu)", "United Kingdom (uk)", "Asia Pacific (apac)", "South America (sa)", "Australia (AU)", "Austria (AT)",
    ]);
    expect(labels).toHaveLength(6 + COUNTRIES.length);
    // data may be kept only where a covered region is: Australia, not Austria
    const residency = within(screen.getByRole("group", { name: "Data residency (where data may be stored)" }));
    expect(residency.getByLabelText("Australia (AU)")).not.toBeChecked();
    expect(residency.queryByLabelText("Austria (AT)")).toBeNull();
    await user.click(residency.getByLabelText("Australia (AU)"));
    await user.click(users.getByLabelText("United States (us)"));
    await user.click(users.getByLabelText("Japan (JP)"));
    await user.click(users.getByLabelText("Australia (AU)"));
    await user.click(screen.getByRole("button", { name: "Create assessment" }));
    await waitFor(() => expect(created).toHaveLength(1));
    expect(sent[0]?.users).toEqual(["AU", "JP"]);
    expect(sent[0]?.data_residency).toEqual(["AU"]);
    const stored = await ok(api().GET("/api/v1/assessments/{assessment_id}", { params: { path: { assessment_id: created[0] ?? "" } } }));
    expect((stored.requirements as { users: string[] }).users).toEqual(["AU", "JP"]);
  });

  test("each place's share of the users: a box per ticked place, what they add up to, and the server's refusal beside them", async () => {
    const user = userEvent.setup();
    const { text } = example("saas-startup");
    const { created, sent } = renderForm();
    fireEvent.change(screen.getByLabelText("Requirements (YAML or JSON)"), { target: { value: text } });
    await waitFor(() => expect(workloadGroups()).toHaveLength(5));
    const shares = () => screen.queryByRole("group", { name: "Share of the users at each place (%)" });
    // one place is all of the users: no box until a second is ticked
    expect(shares()).toBeNull();
    const users = within(screen.getByRole("group", { name: "Where the users are" }));
    await user.click(users.getByLabelText("European Union (eu)"));
    await user.click(users.getByLabelText("Japan (JP)"));
    const group = within(shares() as HTMLElement);
    expect(group.getAllByRole("textbox").map((b) => b.id)).toEqual(["req-user_shares-us", "req-user_shares-eu", "req-user_shares-JP"]);
    await user.type(group.getByLabelText("United States (us)"), "60");
    await user.type(group.getByLabelText("European Union (eu)"), "30");
    expect(group.getByRole("status")).toHaveTextContent("Together 90%, 1 of 3 places without a share.");
    await user.type(group.getByLabelText("Japan (JP)"), "0");
    expect(group.getByRole("status")).toHaveTextContent(/^Together 90%\.$/);
    // a share of 0 is refused beside its box before anything is sent
    await user.click(screen.getByRole("button", { name: "Create assessment" }));
    expect(group.getByLabelText("Japan (JP)")).toHaveAccessibleDescription("Must be more than 0.");
    // what only the server checks (they add up to 100) is said beside the boxes
    await user.clear(group.getByLabelText("Japan (JP)"));
    await user.type(group.getByLabelText("Japan (JP)"), "5");
    await user.click(screen.getByRole("button", { name: "Create assessment" }));
    await waitFor(() => expect(shares()).toHaveAccessibleDescription("The shares add up to 95; they are percentages of the users and must add up to 100."));
    expect(created).toHaveLength(0);
    await user.clear(group.getByLabelText("Japan (JP)"));
    await user.type(group.getByLabelText("Japan (JP)"), "10");
    expect(shares()).not.toHaveAccessibleDescription();
    // a place unticked takes its box, and its figure, away
    await user.click(users.getByLabelText("Japan (JP)"));
    expect(within(shares() as HTMLElement).queryByLabelText("Japan (JP)")).toBeNull();
    await user.clear(within(shares() as HTMLElement).getByLabelText("European Union (eu)"));
    await user.type(within(shares() as HTMLElement).getByLabelText("European Union (eu)"), "40");
    await user.click(screen.getByRole("button", { name: "Create assessment" }));
    await waitFor(() => expect(created).toHaveLength(1));
    expect(sent.at(-1)?.users).toEqual(["us", "eu"]);
    expect(sent.at(-1)?.user_shares).toEqual({ us: 60, eu: 40 });
    // one place left is all of the users: no boxes, and no figure sent
    await user.click(users.getByLabelText("European Union (eu)"));
    expect(shares()).toBeNull();
    await user.click(screen.getByRole("button", { name: "Create assessment" }));
    await waitFor(() => expect(created).toHaveLength(2));
    expect(sent.at(-1)?.users).toEqual(["us"]);
    expect(sent.at(-1)?.user_shares).toBeUndefined();
  });

  test("pasted text that is not YAML says why in one sentence, and leaves the form alone", async () => {
    renderForm();
    fireEvent.change(screen.getByLabelText("Requirements (YAML or JSON)"), { target: { value: "name: [unclosed" } });
    const problem = await screen.findByRole("alert");
    expect(problem.textContent).toMatch(/^The text is not valid YAML or JSON: [^\n]+\.$/);
    expect(screen.getByLabelText("Requirements (YAML or JSON)")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText("Assessment name")).toHaveValue("");
  });

  test("fields the form does not have are named, not dropped silently", async () => {
    renderForm();
    fireEvent.change(screen.getByLabelText("Requirements (YAML or JSON)"), {
      target: { value: "name: x\nbudget: 5\nworkloads:\n  - {type: cache, name: c, memory_gb: 1, ttl: 5}\n" },
    });
    expect(await screen.findByText(/The form has no field for budget, workloads\[0\]\.ttl: left out\./)).toBeInTheDocument();
  });

  test("download as YAML gives back the document the form holds", async () => {
    const user = userEvent.setup();
    const downloads = captureDownloads();
    try {
      const { doc, text } = example("eu-fintech");
      renderForm();
      fireEvent.change(screen.getByLabelText("Requirements (YAML or JSON)"), { target: { value: text } });
      await waitFor(() => expect(screen.getByLabelText("Assessment name")).toHaveValue(String(doc.name)));
      await user.click(screen.getByRole("button", { name: "Download as YAML" }));
      await waitFor(() => expect(downloads.files).toHaveLength(1));
      const file = downloads.files[0]!;
      expect(file.name).toMatch(/\.yaml$/);
      expect(parse(await file.blob.text())).toEqual(doc);
    } finally {
      downloads.restore();
    }
  });

  test("places are read as the engine reads them: any case, and GB as the group uk", () => {
    // users [JP, US] with shares {JP: 70, US: 30} had become users JP and US but shares JP
    // and us: the form sent the JP share alone, and the server refused the rest
    const doc = {
      name: "koma",
      users: ["JP", "US"],
      user_shares: { JP: 70, US: 30 },
      data_residency: ["GB", "jp"],
      workloads: [{ type: "cache", name: "c", memory_gb: 1 }],
    };
    const { values, unknown } = fromDocument(doc);
    expect(unknown).toEqual([]);
    const sent = toDocument(values);
    expect(sent.users).toEqual(["JP", "us"]);
    expect(sent.user_shares).toEqual({ JP: 70, us: 30 });
    expect(sent.data_residency).toEqual(["uk", "JP"]);
  });

  test("every example in the repository goes through the form unchanged", () => {
    for (const name of ["analytics-pipeline", "azure-enterprise", "eu-fintech", "hipaa-telehealth", "llm-inference", "marketplace-platform", "mobile-game-assets", "model-fine-tuning", "nonprofit-site", "saas-startup", "seasonal-ecommerce", "static-site", "uk-public-sector", "video-transcoding"]) {
      const { doc } = example(name);
      const { values, unknown } = fromDocument(doc);
      expect(unknown, name).toEqual([]);
      expect(toDocument(values), name).toEqual(doc);
    }
  });
});
