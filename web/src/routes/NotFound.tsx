import { Link } from "react-router";
import { usePageTitle } from "../lib/usePageTitle";

export function NotFound() {
  usePageTitle("Not found");
  return (
    <div className="page page-narrow">
      <h1 tabIndex={-1}>Page not found</h1>
      <p>
        There is nothing at this address. <Link to="/assessments">Go to your assessments</Link>.
      </p>
    </div>
  );
}
