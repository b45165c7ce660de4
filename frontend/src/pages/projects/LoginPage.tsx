import { useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { errorMessage } from "../../api/errors";
import { setToken } from "../../api/token";
import { useNavigate, useSearch } from "@tanstack/react-router";

/** Only same-site paths are accepted as a post-login destination (`next` is the ?next= value). */
export function safeNext(next: string | null | undefined): string {
  if (next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/login")) return next;
  return "/projects";
}

export function LoginPage() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const { next } = useSearch({ from: "/login" });
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const out = await unwrap(api.POST("/api/auth/login", { body: { email, password } }));
      queryClient.clear();
      queryClient.setQueryData(["me"], out.user);
      setToken(out.access_token);
      void navigate({ href: safeNext(next), replace: true });
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <div className="login-page">
      <form className="card login-card" onSubmit={submit} data-testid="login-form">
        <h1>Distillery</h1>
        <p className="muted">Sign in to the dashboard</p>
        <label>
          Email
          <input
            type="email"
            name="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            data-testid="login-email"
          />
        </label>
        <label>
          Password
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            data-testid="login-password"
          />
        </label>
        {error && (
          <p className="error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy} data-testid="login-submit">
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </div>
  );
}
