import { render, screen } from "@testing-library/react";
import { describe, expect, test } from "vitest";
import { Markdown } from "../src/components/Markdown";

describe("Markdown from the API", () => {
  test("headings, lists, emphasis and http links become elements; nothing else is trusted", () => {
    const { container } = render(
      <Markdown
        headingLevel={3}
        text={[
          "### Google Cloud us-east1: $655.63 a month",
          "",
          "- **web-api**: app servers on e2-highcpu-2 ($81.25)",
          "- see *Object storage lifecycle policies*",
          "",
          "1. first",
          "2. second",
          "",
          "Sources: [AWS Well-Architected](https://aws.amazon.com/architecture/well-architected/), [bad](javascript:alert(1)), <img src=x onerror=alert(1)>",
        ].join("\n")}
      />,
    );
    expect(screen.getByRole("heading", { level: 3, name: "Google Cloud us-east1: $655.63 a month" })).toBeInTheDocument();
    expect(screen.getAllByRole("list")).toHaveLength(2);
    expect(container.querySelector("strong")?.textContent).toBe("web-api");
    expect(container.querySelector("em")?.textContent).toBe("Object storage lifecycle policies");
    const links = screen.getAllByRole("link");
    expect(links).toHaveLength(1);
    expect(links[0]).toHaveAttribute("href", "https://aws.amazon.com/architecture/well-architected/");
    // a javascript: link is text; markup is text
    expect(container.querySelector("img")).toBeNull();
    expect(container.textContent).toContain("<img src=x onerror=alert(1)>");
    expect(container.innerHTML).not.toContain("javascript:");
  });
});
