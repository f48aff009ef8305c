import { useEffect, useState } from "react";
import { ApiContext } from "./api/hooks";
import { navigate, usePath } from "./router";
import { sessionEndNotice, sessionTimeLeft, signIn, storedToken, storeToken, takeFragmentToken, type Me, type Session } from "./session";
import { Link, Loading } from "./ui/common";
import { SignIn } from "./views/SignIn";
import { ConnectionBadge } from "./views/ConnectionBadge";
import { Services } from "./views/Services";
import { EventTypes } from "./views/EventTypes";
import { Customers } from "./views/Customers";
import { Publish } from "./views/Publish";
import { Webhooks } from "./views/Webhooks";
import { WebhookPage } from "./views/WebhookPage";
import { EventsTail } from "./views/EventsTail";
import { CustomerHome } from "./views/CustomerHome";

/** A portal link's token (read once, at load) replaces a stored one. */
const fragmentToken = takeFragmentToken();
if (fragmentToken) storeToken(fragmentToken);

export function App() {
  const [session, setSession] = useState<Session | undefined>();
  const [restoring, setRestoring] = useState(() => storedToken() !== undefined);
  const [restoreError, setRestoreError] = useState<string | undefined>();

  useEffect(() => {
    const token = storedToken();
    if (!token) return;
    signIn(token).then(
      (s) => {
        setSession(s);
        setRestoring(false);
      },
      (error: Error) => {
        storeToken(undefined);
        setRestoreError(/expired/i.test(error.message) ? sessionEndNotice(error.message) : `Your saved session no longer works: ${error.message}`);
        setRestoring(false);
      },
    );
  }, []);

  // The gateway stopped taking the token (a portal session expired, a token was revoked), or a
  // portal session's time ran out (a timer: the page says so even if it asks nothing of the
  // gateway meanwhile): back to sign-in, saying why.
  useEffect(() => {
    if (!session) return;
    const end = (message: string) => {
      session.api.close();
      storeToken(undefined);
      setRestoreError(sessionEndNotice(message));
      setSession(undefined);
    };
    const off = session.api.onSessionEnd(end);
    const left = sessionTimeLeft(session);
    const timer = left === undefined ? undefined : setTimeout(() => end("the session expired"), left);
    return () => {
      off();
      clearTimeout(timer);
    };
  }, [session]);

  const signOut = () => {
    session?.api.close();
    storeToken(undefined);
    setSession(undefined);
    navigate("/");
  };

  if (restoring) return <main className="centered"><Loading what="your session" /></main>;
  if (!session) {
    return (
      <SignIn
        notice={restoreError}
        onSignedIn={(token, s) => {
          storeToken(token);
          setRestoreError(undefined);
          setSession(s);
        }}
      />
    );
  }
  return (
    <ApiContext.Provider value={session.api}>
      <Shell me={session.me} onSignOut={signOut} />
    </ApiContext.Provider>
  );
}

function Shell({ me, onSignOut }: { me: Me; onSignOut: () => void }) {
  const path = usePath();
  const nav = navigation(me);
  const who =
    me.kind === "ADMIN"
      ? "Admin"
      : me.kind === "SERVICE"
        ? `Service: ${me.service?.title ?? ""}`
        : `Customer: ${me.customer?.name ?? ""}${me.scopeService ? ` (via ${me.scopeService.title})` : ""}`;
  return (
    <>
      <a className="skip" href="#content">Skip to content</a>
      <header className="top">
        <span className="brand">Hookgate Console</span>
        <nav aria-label="Main">
          <ul>
            {nav.map((item) => (
              <li key={item.to}>
                <Link to={item.to} className={isCurrent(path, item.to) ? "current" : undefined}>
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <ConnectionBadge />
          <span>{who}</span>
          {me.expiresAt ? (
            <span className="muted" data-testid="session-expiry">
              Session until {new Date(me.expiresAt).toLocaleString()}
            </span>
          ) : null}
          <button type="button" className="secondary" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="content" tabIndex={-1}>
        <Page me={me} path={path} />
      </main>
    </>
  );
}

function navigation(me: Me): { to: string; label: string }[] {
  if (me.kind === "ADMIN") {
    return [
      { to: "/", label: "Webhooks" },
      { to: "/services", label: "Services" },
      { to: "/event-types", label: "Event types" },
      { to: "/customers", label: "Customers" },
      { to: "/publish", label: "Publish" },
      { to: "/events", label: "Live events" },
    ];
  }
  if (me.kind === "SERVICE") return [{ to: "/", label: "Webhooks" }, { to: "/events", label: "Live events" }];
  return [{ to: "/", label: "My webhooks" }, { to: "/events", label: "My events" }];
}

function isCurrent(path: string, to: string): boolean {
  return to === "/" ? path === "/" || path.startsWith("/webhooks") : path.startsWith(to);
}

function Page({ me, path }: { me: Me; path: string }) {
  const webhook = /^\/webhooks\/(\d+)(?:\/(\w+))?$/.exec(path);
  if (me.kind === "CUSTOMER") {
    if (path === "/events") return <EventsTail me={me} />;
    return <CustomerHome me={me} />;
  }
  if (webhook) return <WebhookPage me={me} webhookId={webhook[1]!} tab={webhook[2] ?? "overview"} />;
  if (path === "/events") return <EventsTail me={me} />;
  if (me.kind === "ADMIN") {
    if (path === "/services") return <Services />;
    if (path === "/event-types") return <EventTypes />;
    if (path === "/customers") return <Customers />;
    if (path === "/publish") return <Publish />;
  }
  if (path === "/" || path === "/webhooks") return <Webhooks me={me} />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no page at this address. <Link to="/">Back to webhooks</Link>
      </p>
    </section>
  );
}
