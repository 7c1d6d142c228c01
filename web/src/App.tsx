import { useEffect, useState } from "react";
import { Api, ApiError, capabilitiesOf, type Me } from "./api";
import { SessionContext } from "./session";
import { AuditView } from "./views/Audit";
import { CampaignCreate } from "./views/CampaignCreate";
import { CampaignDetail } from "./views/CampaignDetail";
import { CampaignList } from "./views/CampaignList";
import { DeviceDetail } from "./views/DeviceDetail";
import { FleetView } from "./views/Fleet";
import { ReleasesView } from "./views/Releases";

const TOKEN_KEY = "aerie.token";

function useHash(): string {
  const [hash, setHash] = useState(location.hash || "#/fleet");
  useEffect(() => {
    const on = () => setHash(location.hash || "#/fleet");
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

function SignIn({ onSignedIn, error }: { onSignedIn: (token: string) => void; error?: string }) {
  const [token, setToken] = useState("");
  return (
    <main className="signin">
      <h1>Aerie</h1>
      <form
        aria-label="Sign in"
        onSubmit={(e) => {
          e.preventDefault();
          onSignedIn(token.trim());
        }}
      >
        <label htmlFor="token">API token</label>
        <input id="token" name="token" type="password" autoComplete="current-password" value={token} onChange={(e) => setToken(e.target.value)} required />
        <p className="hint">Create one with <code>aerie tokens create --role operator</code>; the first admin token is printed when Aerie starts for the first time.</p>
        <button type="submit">Sign in</button>
        {error && <p role="alert" className="error">{error}</p>}
      </form>
    </main>
  );
}

const NAV = [
  ["#/fleet", "Fleet"],
  ["#/releases", "Releases"],
  ["#/campaigns", "Campaigns"],
  ["#/campaigns/new", "New campaign"],
  ["#/audit", "Audit log"],
] as const;

function Route({ hash }: { hash: string }) {
  const [path, query = ""] = hash.slice(1).split("?");
  const parts = path!.split("/").filter(Boolean);
  const params = new URLSearchParams(query);
  if (parts[0] === "devices" && parts[1]) return <DeviceDetail controllerId={decodeURIComponent(parts[1])} />;
  if (parts[0] === "releases") return <ReleasesView />;
  if (parts[0] === "campaigns" && parts[1] === "new") return <CampaignCreate releaseId={params.get("release") ?? undefined} />;
  if (parts[0] === "campaigns" && parts[1]) return <CampaignDetail id={parts[1]} />;
  if (parts[0] === "campaigns") return <CampaignList />;
  if (parts[0] === "audit") return <AuditView />;
  return <FleetView />;
}

export function App() {
  const hash = useHash();
  const [token, setToken] = useState<string | null>(() => sessionStorage.getItem(TOKEN_KEY));
  const [me, setMe] = useState<Me>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    if (token === null) return;
    const api = new Api(token || null);
    api.me().then(
      (who) => {
        sessionStorage.setItem(TOKEN_KEY, token);
        setMe(who);
        setError(undefined);
      },
      (e: Error) => {
        sessionStorage.removeItem(TOKEN_KEY);
        setToken(null);
        setError(e instanceof ApiError && e.status === 401 ? "The token was not accepted (unknown, revoked or expired)." : e.message);
      },
    );
  }, [token]);

  if (token === null || !me) return token === null ? <SignIn onSignedIn={setToken} error={error} /> : <p role="status">Signing in…</p>;
  const session = { api: new Api(token || null), me, can: capabilitiesOf(me) };
  const active = (href: string) => (href === "#/campaigns" ? hash.startsWith("#/campaigns") && !hash.startsWith("#/campaigns/new") : hash.startsWith(href));
  return (
    <SessionContext.Provider value={session}>
      <header className="top">
        <span className="brand">Aerie</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([href, label]) => (
              <li key={href}><a href={href} aria-current={active(href) ? "page" : undefined}>{label}</a></li>
            ))}
          </ul>
        </nav>
        <span className="who" data-testid="who">{me.principal} · <strong>{me.role}</strong>{me.authenticated ? "" : " (authentication off)"}</span>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            sessionStorage.removeItem(TOKEN_KEY);
            setMe(undefined);
            setToken(null);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="content">
        <Route hash={hash} />
      </main>
    </SessionContext.Provider>
  );
}
