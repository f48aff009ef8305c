import type { ConsoleAttemptFragment } from "../gql/graphql";
import { BodyBlock, Headers, time } from "../ui/common";

/** One attempt as sent and as answered (headers redacted by the API; bodies as text). */
export function AttemptView({ attempt }: { attempt: ConsoleAttemptFragment }) {
  return (
    <article className="attempt" aria-label={`Attempt ${attempt.attemptNumber}`}>
      <h3>
        Attempt {attempt.attemptNumber}: {attempt.succeeded ? "succeeded" : "failed"}
        {attempt.responseStatus != null ? `, HTTP ${attempt.responseStatus}` : ""}
      </h3>
      <p className="muted">
        Started {time(attempt.startedAt)}, took {attempt.durationMs} ms
        {attempt.errorClass ? (
          <>
            . Error: <strong>{attempt.errorClass}</strong>
            {attempt.errorMessage ? ` (${attempt.errorMessage})` : ""}
          </>
        ) : null}
      </p>
      <div className="grid2">
        <div>
          <h4>Request</h4>
          <p className="mono url">
            {attempt.requestMethod} {attempt.requestUrl}
          </p>
          <Headers headers={attempt.requestHeaders} label="Request headers" />
          <BodyBlock body={attempt.requestBody} label="Request body" />
        </div>
        <div>
          <h4>Response</h4>
          {attempt.responseStatus == null ? <p className="muted">No response: {attempt.errorClass ?? "none"}</p> : <p>HTTP {attempt.responseStatus}</p>}
          <Headers headers={attempt.responseHeaders} label="Response headers" />
          <BodyBlock body={attempt.responseBody} label="Response body" />
        </div>
      </div>
    </article>
  );
}
