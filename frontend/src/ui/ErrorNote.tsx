import { ApiError } from "../api/client";

/** What went wrong, in the server's words, with every problem it listed. */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const problems = error instanceof ApiError ? error.problems : [];
  return (
    <div className="error-note" role="alert">
      <div>{message}</div>
      {problems.length > 0 && (
        <ul>
          {problems.map((problem, index) => (
            <li key={index}>
              <code>{problem.path}</code> {problem.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
