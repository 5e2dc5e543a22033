import { useEffect } from "react";

/** Sets the document title ("Assessments · Infra Mind"): screen readers announce it on navigation. */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Infra Mind` : "Infra Mind";
  }, [title]);
}
