import { useId, useState, type ReactNode, type MouseEvent } from "react";
import type { ApiError } from "../api/client";
import { href, navigate } from "../router";

export function Link({ to, children, className }: { to: string; children: ReactNode; className?: string }) {
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return (
    <a href={href(to)} onClick={onClick} className={className}>
      {children}
    </a>
  );
}

/** An API error as a sentence, with the field it names; announced to screen readers. */
export function ErrorNote({ error, prefix }: { error: ApiError | undefined; prefix?: string }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {prefix ? `${prefix}: ` : ""}
      {error.message}
      {error.code && error.code !== "NETWORK" ? <span className="code"> ({error.code})</span> : null}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" aria-live="polite">
      Loading {what}…
    </p>
  );
}

/** A secret the API shows only once: displayed with a copy button and a warning. */
export function SecretOnce({ label, value, onDone }: { label: string; value: string; onDone: () => void }) {
  const id = useId();
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
    } catch {
      // No clipboard (plain http on another host): the text is selectable.
      (document.getElementById(id) as HTMLInputElement | null)?.select();
    }
  };
  return (
    <div className="secret" role="status">
      <label htmlFor={id}>{label}</label>
      <p className="muted">Shown only now: store it somewhere safe. The gateway keeps only a hash or a sealed copy.</p>
      <div className="row">
        <input id={id} readOnly value={value} className="mono" onFocus={(e) => e.currentTarget.select()} />
        <button type="button" onClick={copy}>
          {copied ? "Copied" : "Copy"}
        </button>
        <button type="button" className="secondary" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}

/** A JSON value, pretty-printed, as text. */
export function JsonBlock({ value, label }: { value: unknown; label?: string }) {
  return (
    <pre className="code-block" aria-label={label} tabIndex={0}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

/**
 * A body as received: pretty-printed when it parses as JSON, else the raw text. Always a text
 * node, never markup: a receiver's HTML error page shows as its source.
 */
export function BodyBlock({ body, label }: { body: string | null | undefined; label: string }) {
  if (body == null || body === "") return <p className="muted">{label}: empty</p>;
  let text = body;
  try {
    text = JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    // not JSON: shown as is
  }
  return (
    <pre className="code-block" aria-label={label} tabIndex={0}>
      {text}
    </pre>
  );
}

export function Headers({ headers, label }: { headers: unknown; label: string }) {
  const entries = headers && typeof headers === "object" ? Object.entries(headers as Record<string, unknown>) : [];
  if (!entries.length) return <p className="muted">{label}: none</p>;
  return (
    <table className="headers" aria-label={label}>
      <tbody>
        {entries.map(([name, value]) => (
          <tr key={name}>
            <th scope="row">{name}</th>
            <td className="mono">{Array.isArray(value) ? value.join(", ") : String(value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status.toLowerCase()}`}>{status}</span>;
}

export function time(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "never";
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (s < 0) return `in ${duration(-s)}`;
  return `${duration(s)} ago`;
}

/** Seconds in words: 90 → "1 min 30 s", 86400 → "24 h". */
export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) {
    const m = Math.floor(seconds / 60), s = seconds % 60;
    return s ? `${m} min ${s} s` : `${m} min`;
  }
  if (seconds < 86400 * 2) {
    const h = Math.floor(seconds / 3600), m = Math.round((seconds % 3600) / 60);
    return m ? `${h} h ${m} min` : `${h} h`;
  }
  return `${Math.round(seconds / 86400)} days`;
}
