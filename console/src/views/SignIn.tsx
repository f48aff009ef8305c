import { useId, useState, type FormEvent } from "react";
import { signIn, type Session } from "../session";

export function SignIn({ notice, onSignedIn }: { notice?: string; onSignedIn: (token: string, session: Session) => void }) {
  const id = useId();
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const value = token.trim();
    if (!value) return setError("Paste a token first.");
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(value, await signIn(value));
    } catch (e) {
      const code = (e as { code?: string }).code;
      setError(code === "UNAUTHENTICATED" ? "This token is not valid: it may be mistyped, revoked or rotated." : (e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="centered">
      <form className="card signin" onSubmit={submit} aria-labelledby={`${id}-title`}>
        <h1 id={`${id}-title`}>Hookgate Console</h1>
        <p className="muted">Sign in with an admin, service or customer token. It is kept for this tab only.</p>
        {notice ? <p className="notice" role="status">{notice}</p> : null}
        <label htmlFor={`${id}-token`}>API token</label>
        <input
          id={`${id}-token`}
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={token}
          onChange={(e) => setToken(e.target.value)}
          aria-describedby={error ? `${id}-error` : undefined}
          aria-invalid={error ? true : undefined}
        />
        {error ? (
          <p id={`${id}-error`} className="error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
