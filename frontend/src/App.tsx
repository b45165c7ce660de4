import { useSyncExternalStore } from "react";
import { getToken, subscribeToken } from "./api/token";
import { Layout } from "./components/Layout";
import { LoginPage, safeNext } from "./pages/LoginPage";
import { ProjectPage } from "./pages/ProjectPage";
import { ProjectsPage } from "./pages/ProjectsPage";
import { Link, matchRoute, Redirect, useLocation } from "./router";

function useToken(): string | null {
  return useSyncExternalStore(subscribeToken, getToken, () => null);
}

export function App() {
  const location = useLocation();
  const token = useToken();
  const route = matchRoute(location);

  if (route.name === "login") {
    if (token) return <Redirect to={safeNext(location.includes("?") ? location.slice(location.indexOf("?")) : "")} />;
    return <LoginPage />;
  }
  if (!token) {
    const next = route.name === "root" ? "" : `?next=${encodeURIComponent(location)}`;
    return <Redirect to={`/login${next}`} />;
  }
  switch (route.name) {
    case "root":
      return <Redirect to="/projects" />;
    case "projects":
      return (
        <Layout>
          <ProjectsPage />
        </Layout>
      );
    case "project":
      return (
        <Layout>
          <ProjectPage key={route.projectId} projectId={route.projectId} runId={route.runId} />
        </Layout>
      );
    default:
      return (
        <Layout>
          <h1>Not found</h1>
          <p>
            Nothing lives at this address. <Link to="/projects">Back to projects</Link>
          </p>
        </Layout>
      );
  }
}
