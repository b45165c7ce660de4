import { useState, type FormEvent } from "react";
import { Link } from "@tanstack/react-router";
import { api, unwrap } from "../../api/client";
import { errorMessage } from "../../api/errors";

/**
 * Where the one-time link an administrator hands out lands (an invitation to a new account, or a
 * reset): choose a password, then sign in. Public: the token in the link is the only credential, and
 * it is spent on success.
 */
export function ResetPasswordPage({ token }: { token: string | undefined }) {
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (password !== again) {
      setError("The two passwords differ.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await unwrap(api.POST("/api/auth/reset-password", { body: { token: token ?? "", password } }));
      setDone(true);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="login-page">
      {done ? (
        <div className="card login-card" data-testid="reset-done">
          <h1>Password set</h1>
          <p>
            <Link to="/login">Sign in</Link> with your new password.
          </p>
        </div>
      ) : (
        <form className="card login-card" onSubmit={submit} data-testid="reset-form">
          <h1>Distillery</h1>
          <p className="muted">Choose a password (8 characters or more)</p>
          {!token && (
            <p className="error" role="alert">
              This page needs the link an administrator sent you.
            </p>
          )}
          <label>
            New password
            <input
              type="password"
              autoComplete="new-password"
              required
              minLength={8}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              data-testid="reset-password"
            />
          </label>
          <label>
            Again
            <input
              type="password"
              autoComplete="new-password"
              required
              value={again}
              onChange={(e) => setAgain(e.target.value)}
              data-testid="reset-again"
            />
          </label>
          {error && (
            <p className="error" role="alert" data-testid="reset-error">
              {error}
            </p>
          )}
          <button type="submit" disabled={busy || !token} data-testid="reset-submit">
            {busy ? "Saving…" : "Set password"}
          </button>
        </form>
      )}
    </div>
  );
}
