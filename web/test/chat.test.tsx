import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { api, ok } from "../src/api/client";
import type { AssessmentRead, MessageRead } from "../src/api/types";
import { askStreaming, ChatPanel, SUGGESTIONS } from "../src/features/chat/ChatPanel";
import { completedAssessment, example, renderWithQueries, signedInUser, signedOut } from "./helpers";

let assessment: AssessmentRead;
/** One without a conversation yet, for the panel */
let quiet: AssessmentRead;

beforeAll(async () => {
  await signedInUser();
  assessment = (await completedAssessment(example("saas-startup").doc)).assessment;
  quiet = (await completedAssessment(example("static-site").doc)).assessment;
});
afterAll(signedOut);

describe("chat beside an assessment", () => {
  test("the stream gives the question, the answer in pieces, then the stored answer with its citations", async () => {
    const conversation = await ok(api().POST("/api/v1/chat/conversations", { body: { assessment_id: assessment.id } }));
    const seen: string[] = [];
    let question: MessageRead | null = null;
    let done: MessageRead | null = null;
    let text = "";
    await askStreaming(conversation.id, "What would this cost on Azure?", {
      onQuestion: (m) => {
        seen.push("message");
        question = m;
      },
      onDelta: (t) => {
        seen.push("delta");
        text += t;
      },
      onDone: (m) => {
        seen.push("done");
        done = m;
      },
    });
    expect(seen[0]).toBe("message");
    expect(seen[seen.length - 1]).toBe("done");
    expect(seen.filter((s) => s === "delta").length).toBeGreaterThan(1);
    expect(question!.content).toBe("What would this cost on Azure?");
    // the pieces join to the stored answer
    expect(text).toBe(done!.content);
    expect(done!.citations.length).toBeGreaterThan(0);
  });

  test("an empty conversation offers questions; one picked fills the box", async () => {
    const user = userEvent.setup();
    renderWithQueries(<ChatPanel assessmentId={quiet.id} />);
    const box = await screen.findByRole("textbox", { name: "Ask about this assessment" });
    const offered = await screen.findByRole("list", { name: /^Questions to start with/ });
    expect(within(offered).getAllByRole("button").map((b) => b.textContent)).toEqual([...SUGGESTIONS]);
    await user.click(within(offered).getByRole("button", { name: "What if traffic doubles?" }));
    expect(box).toHaveValue("What if traffic doubles?");
    expect(box).toHaveFocus();
  });

  test("asking in the panel streams the answer in and lists its sources", async () => {
    const user = userEvent.setup();
    renderWithQueries(<ChatPanel assessmentId={quiet.id} />);
    const box = await screen.findByRole("textbox", { name: "Ask about this assessment" });
    await waitFor(() => expect(screen.queryByText("Loading the conversation…")).toBeNull());
    await user.type(box, "What would this cost on Azure?");
    expect(within(screen.getByRole("log", { name: "Conversation" })).queryAllByRole("listitem")).toHaveLength(0);
    await user.click(screen.getByRole("button", { name: "Send" }));
    const log = screen.getByRole("log", { name: "Conversation" });
    const sources = await within(log).findByRole("list", { name: "Sources" }, { timeout: 20_000 });
    expect(within(log).getByText("What would this cost on Azure?")).toBeInTheDocument();
    expect(log).toHaveTextContent(/Azure/);
    const cited = within(sources).getAllByRole("listitem");
    expect(cited.length).toBeGreaterThan(0);
    // articles link to their source, opened apart from the app
    for (const link of within(sources).queryAllByRole("link")) {
      expect(link.getAttribute("href")).toMatch(/^https?:\/\//);
      expect(link).toHaveAttribute("rel", "noopener noreferrer");
    }
    expect(box).toHaveValue("");
    expect(box).toHaveFocus();
  });

  test("the conversation is there again when the panel comes back", async () => {
    renderWithQueries(<ChatPanel assessmentId={quiet.id} />);
    const log = screen.getByRole("log", { name: "Conversation" });
    await waitFor(() => expect(within(log).getAllByText("What would this cost on Azure?").length).toBeGreaterThan(0));
  });
});
