import type { ReactNode } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { clearToken } from "../api/token";
import { Link, navigate } from "../router";

export function Layout({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const me = useQuery({
    queryKey: ["me"],
    queryFn: () => unwrap(api.GET("/api/users/me")),
    staleTime: 60_000,
  });

  const signOut = async () => {
    try {
      await api.POST("/api/auth/logout");
    } catch {
      // The token is forgotten locally either way.
    }
    clearToken();
    queryClient.clear();
    navigate("/login");
  };

  return (
    <div className="app">
      <header className="topbar">
        <Link to="/projects" className="brand" data-testid="nav-projects">
          Distillery
        </Link>
        <div className="topbar-right">
          {me.data && (
            <span className="muted" data-testid="current-user">
              {me.data.name || me.data.email}
            </span>
          )}
          <button type="button" className="link-button" onClick={signOut} data-testid="sign-out">
            Sign out
          </button>
        </div>
      </header>
      <main className="content">{children}</main>
    </div>
  );
}
