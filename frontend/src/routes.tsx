/**
 * The dashboard's route tree (TanStack Router, code-based routes).
 *
 * Every page is a plain component that receives its route params (and, where a page keeps state in the
 * URL, its validated search params plus an `onSearch(patch)` that merges a patch into them) as props:
 *
 *   /login?next=PATH                                   LoginPage {}                      (public)
 *   /reset-password#TOKEN                              ResetPasswordPage {token}         (public)
 *   /users                                             UsersPage {}                      administrators
 *   /projects                                          ProjectsPage {}
 *   /projects/$projectId                               ProjectPage {projectId}           runs list
 *   /projects/$projectId/runs/new                      WizardPage {projectId}            launch wizard
 *   /projects/$projectId/runs/$runId                   RunPage {projectId, runId}
 *   /projects/$projectId/runs/$runId/samples           SamplesPage {projectId, runId, search: SamplesSearch, onSearch}
 *   /projects/$projectId/runs/$runId/samples/$generationId
 *                                                      TracePage {projectId, runId, generationId}
 *   /projects/$projectId/runs/$runId/review            ReviewPage {projectId, runId}
 *   /projects/$projectId/runs/$runId/evaluation        EvaluationPage {projectId, runId, search: EvaluationSearch, onSearch}
 *   /projects/$projectId/prompt-sets                   PromptSetsPage {projectId}
 *   /projects/$projectId/prompt-sets/$promptSetId      PromptSetPage {projectId, promptSetId, search: PromptSetSearch, onSearch}
 *   /projects/$projectId/judge                         JudgePage {projectId}
 *   /projects/$projectId/experiments                   ExperimentsPage {projectId}
 *   /projects/$projectId/teachers                      TeachersPage {projectId}
 *   /projects/$projectId/members                       MembersPage {projectId}
 *   /projects/$projectId/settings                      ProjectSettingsPage {projectId}  the Hub token, pushes
 *
 * All ids are positive integers (a path with anything else is "not found"). Everything below /login is
 * behind the auth guard: without a token the guard redirects to /login?next=<the requested path>.
 * The Layout (components/Layout.tsx) draws the top bar, the project navigation and, under a run, the run
 * sub-navigation; it keeps the project in the query cache under ["project", projectId] and the run under
 * ["run", projectId, runId] (the getProject / getRun responses), so pages can share those entries.
 *
 * To add search params to a page: extend its *Search type and its validate function below (unknown or
 * malformed values are dropped, never an error), then read `search` in the page.
 */
import {
  createRootRouteWithContext,
  createRoute,
  createRouter,
  Link,
  notFound,
  Outlet,
  redirect,
  useNavigate,
  useRouter,
  useRouterState,
  type ErrorComponentProps,
  type RouterHistory,
} from "@tanstack/react-router";
import type { QueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useEffect, useSyncExternalStore } from "react";
import { getToken, subscribeToken } from "./api/token";
import { errorMessage } from "./api/errors";
import { Layout } from "./components/Layout";
import { LoginPage, safeNext } from "./pages/projects/LoginPage";

// Each page is its own chunk, loaded when first visited (charts, KaTeX and the YAML editor stay out of
// the first load); the Suspense in Authed shows a line while one loads.
const ProjectPage = lazy(() => import("./pages/projects/ProjectPage").then((m) => ({ default: m.ProjectPage })));
const ProjectsPage = lazy(() => import("./pages/projects/ProjectsPage").then((m) => ({ default: m.ProjectsPage })));
const PromptSetPage = lazy(() => import("./pages/prompt-sets/PromptSetPage").then((m) => ({ default: m.PromptSetPage })));
const PromptSetsPage = lazy(() => import("./pages/prompt-sets/PromptSetsPage").then((m) => ({ default: m.PromptSetsPage })));
const WizardPage = lazy(() => import("./pages/wizard/WizardPage").then((m) => ({ default: m.WizardPage })));
const RunPage = lazy(() => import("./pages/run/RunPage").then((m) => ({ default: m.RunPage })));
const SamplesPage = lazy(() => import("./pages/samples/SamplesPage").then((m) => ({ default: m.SamplesPage })));
const TracePage = lazy(() => import("./pages/samples/TracePage").then((m) => ({ default: m.TracePage })));
const ReviewPage = lazy(() => import("./pages/review/ReviewPage").then((m) => ({ default: m.ReviewPage })));
const EvaluationPage = lazy(() => import("./pages/evaluation/EvaluationPage").then((m) => ({ default: m.EvaluationPage })));
const ExperimentsPage = lazy(() =>
  import("./pages/experiments/ExperimentsPage").then((m) => ({ default: m.ExperimentsPage })),
);
const JudgePage = lazy(() => import("./pages/judge/JudgePage").then((m) => ({ default: m.JudgePage })));
const TeachersPage = lazy(() => import("./pages/settings/TeachersPage").then((m) => ({ default: m.TeachersPage })));
const UsersPage = lazy(() => import("./pages/settings/UsersPage").then((m) => ({ default: m.UsersPage })));
const ResetPasswordPage = lazy(() =>
  import("./pages/projects/ResetPasswordPage").then((m) => ({ default: m.ResetPasswordPage })),
);
const ProjectSettingsPage = lazy(() =>
  import("./pages/settings/ProjectSettingsPage").then((m) => ({ default: m.ProjectSettingsPage })),
);
const MembersPage = lazy(() => import("./pages/settings/MembersPage").then((m) => ({ default: m.MembersPage })));

export interface RouterContext {
  queryClient: QueryClient;
}

// ---- search params -------------------------------------------------------------------------------

type RawSearch = Record<string, unknown>;

function str(v: unknown): string | undefined {
  if (typeof v === "string" && v !== "") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return undefined;
}

function num(v: unknown): number | undefined {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

function nonNegInt(v: unknown): number | undefined {
  const n = num(v);
  return n !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** Drop undefined keys so URLs stay short (`?q=x`, not `?q=x&verdict=`). */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export interface LoginSearch {
  next?: string;
}

/** Sample browser filters and keyset position, named as the API's query parameters
 * (GET .../runs/{id}/generations), so a URL's filters read as the request they make. */
export interface SamplesSearch {
  /** accepted | rejected | unverified */
  verdict?: string;
  verifier?: string;
  /** pass | fail | undecided (with verifier) */
  verifier_result?: string;
  score_min?: number;
  score_max?: number;
  /** Text in the prompt. */
  q?: string;
  finish_reason?: string;
  /** Keyset cursor of the page shown. */
  cursor?: string;
}

export interface EvaluationSearch {
  /** e.g. "student_fails_teacher_passes" */
  filter?: string;
  evaluationId?: number;
}

export interface PromptSetSearch {
  /** preview | stats | versions */
  tab?: string;
}

/** The API's names, and the names older links used (scoreMin, scoreMax, finishReason, and
 * verifier=name:result) read into them, so a bookmark from before still opens the same filter. */
export const validateSamplesSearch = (s: RawSearch): SamplesSearch => {
  const [verifier, oldResult] = (str(s.verifier) ?? "").split(":", 2);
  return compact({
    verdict: str(s.verdict),
    verifier: verifier || undefined,
    verifier_result: str(s.verifier_result) ?? (oldResult || undefined),
    score_min: num(s.score_min) ?? num(s.scoreMin),
    score_max: num(s.score_max) ?? num(s.scoreMax),
    q: str(s.q),
    finish_reason: str(s.finish_reason) ?? str(s.finishReason),
    cursor: str(s.cursor),
  });
};

export const validateEvaluationSearch = (s: RawSearch): EvaluationSearch =>
  compact({ filter: str(s.filter), evaluationId: nonNegInt(s.evaluationId) });

export const validatePromptSetSearch = (s: RawSearch): PromptSetSearch =>
  compact({ tab: str(s.tab) });

// ---- params --------------------------------------------------------------------------------------

/** A path id: a positive integer, or the route is not found. */
export function parseId(raw: string): number {
  if (!/^\d+$/.test(raw)) throw notFound();
  const n = Number(raw);
  if (n < 1 || !Number.isSafeInteger(n)) throw notFound();
  return n;
}

// ---- auth ----------------------------------------------------------------------------------------

export function useToken(): string | null {
  return useSyncExternalStore(subscribeToken, getToken, () => null);
}

/** Guard for everything but /login; also reacts when a 401 forgets the token mid-session. */
function Authed() {
  const token = useToken();
  const navigate = useNavigate();
  const router = useRouter();
  useEffect(() => {
    if (token) return;
    const here = router.state.location;
    if (here.pathname !== "/login") void navigate({ to: "/login", search: { next: here.href }, replace: true });
  }, [token, navigate, router]);
  if (!token) return null;
  return (
    <Layout>
      <Suspense fallback={<p className="muted" data-testid="page-loading">Loading…</p>}>
        <Outlet />
      </Suspense>
    </Layout>
  );
}

function NotFound() {
  return (
    <div data-testid="not-found">
      <h1>Not found</h1>
      <p>
        Nothing lives at this address. <Link to="/projects">Back to projects</Link>
      </p>
    </div>
  );
}

function RouteError({ error }: ErrorComponentProps) {
  return (
    <p className="error" role="alert" data-testid="route-error">
      {errorMessage(error)}
    </p>
  );
}

// ---- the tree ------------------------------------------------------------------------------------

const rootRoute = createRootRouteWithContext<RouterContext>()({
  component: Outlet,
  notFoundComponent: NotFound,
  errorComponent: RouteError,
});

const loginRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "login",
  validateSearch: (s: RawSearch): LoginSearch => compact({ next: str(s.next) }),
  beforeLoad: ({ search }) => {
    if (getToken()) throw redirect({ href: safeNext(search.next) });
  },
  component: LoginPage,
});

// Public, whether signed in or not: the one-time token in the link is its only credential. It rides in
// the fragment, which browsers never send: a query string would land in the server's and proxies'
// access logs.
const resetPasswordRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "reset-password",
  component: function ResetPasswordRoute() {
    const token = useRouterState({ select: (s) => s.location.hash }) || undefined;
    return (
      <Suspense fallback={<p className="muted">Loading…</p>}>
        <ResetPasswordPage token={token} />
      </Suspense>
    );
  },
});

const authedRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: "authed",
  beforeLoad: ({ location }) => {
    if (!getToken()) {
      const next = location.pathname === "/" ? undefined : location.href;
      throw redirect({ to: "/login", search: next ? { next } : {} });
    }
  },
  component: Authed,
  notFoundComponent: NotFound,
});

const indexRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: "/",
  beforeLoad: () => {
    throw redirect({ to: "/projects" });
  },
});

const projectsRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: "projects",
  component: ProjectsPage,
});

const usersRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: "users",
  component: UsersPage,
});

const projectRoute = createRoute({
  getParentRoute: () => authedRoute,
  path: "projects/$projectId",
  params: {
    parse: (p) => ({ projectId: parseId(p.projectId) }),
    stringify: (p) => ({ projectId: String(p.projectId) }),
  },
  component: Outlet,
  notFoundComponent: NotFound,
});

const projectIndexRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "/",
  component: function ProjectRoute() {
    const { projectId } = projectIndexRoute.useParams();
    return <ProjectPage key={projectId} projectId={projectId} />;
  },
});

const wizardRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "runs/new",
  component: function WizardRoute() {
    const { projectId } = wizardRoute.useParams();
    return <WizardPage projectId={projectId} />;
  },
});

const runRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "runs/$runId",
  params: {
    parse: (p) => ({ runId: parseId(p.runId) }),
    stringify: (p) => ({ runId: String(p.runId) }),
  },
  component: Outlet,
});

const runIndexRoute = createRoute({
  getParentRoute: () => runRoute,
  path: "/",
  component: function RunRoute() {
    const { projectId, runId } = runIndexRoute.useParams();
    return <RunPage key={runId} projectId={projectId} runId={runId} />;
  },
});

const samplesRoute = createRoute({
  getParentRoute: () => runRoute,
  path: "samples",
  validateSearch: validateSamplesSearch,
  component: function SamplesRoute() {
    const { projectId, runId } = samplesRoute.useParams();
    const search = samplesRoute.useSearch();
    const navigate = useNavigate({ from: samplesRoute.fullPath });
    const onSearch = (patch: Partial<SamplesSearch>) =>
      void navigate({ search: (prev) => compact({ ...prev, ...patch }), replace: true });
    return <SamplesPage projectId={projectId} runId={runId} search={search} onSearch={onSearch} />;
  },
});

const traceRoute = createRoute({
  getParentRoute: () => runRoute,
  path: "samples/$generationId",
  params: {
    parse: (p) => ({ generationId: parseId(p.generationId) }),
    stringify: (p) => ({ generationId: String(p.generationId) }),
  },
  component: function TraceRoute() {
    const { projectId, runId, generationId } = traceRoute.useParams();
    return <TracePage key={generationId} projectId={projectId} runId={runId} generationId={generationId} />;
  },
});

const reviewRoute = createRoute({
  getParentRoute: () => runRoute,
  path: "review",
  component: function ReviewRoute() {
    const { projectId, runId } = reviewRoute.useParams();
    return <ReviewPage projectId={projectId} runId={runId} />;
  },
});

const evaluationRoute = createRoute({
  getParentRoute: () => runRoute,
  path: "evaluation",
  validateSearch: validateEvaluationSearch,
  component: function EvaluationRoute() {
    const { projectId, runId } = evaluationRoute.useParams();
    const search = evaluationRoute.useSearch();
    const navigate = useNavigate({ from: evaluationRoute.fullPath });
    const onSearch = (patch: Partial<EvaluationSearch>) =>
      void navigate({ search: (prev) => compact({ ...prev, ...patch }), replace: true });
    return <EvaluationPage projectId={projectId} runId={runId} search={search} onSearch={onSearch} />;
  },
});

const promptSetsRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "prompt-sets",
  component: function PromptSetsRoute() {
    const { projectId } = promptSetsRoute.useParams();
    return <PromptSetsPage projectId={projectId} />;
  },
});

const promptSetRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "prompt-sets/$promptSetId",
  params: {
    parse: (p) => ({ promptSetId: parseId(p.promptSetId) }),
    stringify: (p) => ({ promptSetId: String(p.promptSetId) }),
  },
  validateSearch: validatePromptSetSearch,
  component: function PromptSetRoute() {
    const { projectId, promptSetId } = promptSetRoute.useParams();
    const search = promptSetRoute.useSearch();
    const navigate = useNavigate({ from: promptSetRoute.fullPath });
    const onSearch = (patch: Partial<PromptSetSearch>) =>
      void navigate({ search: (prev) => compact({ ...prev, ...patch }), replace: true });
    return (
      <PromptSetPage
        key={promptSetId}
        projectId={projectId}
        promptSetId={promptSetId}
        search={search}
        onSearch={onSearch}
      />
    );
  },
});

const judgeRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "judge",
  component: function JudgeRoute() {
    const { projectId } = judgeRoute.useParams();
    return <JudgePage projectId={projectId} />;
  },
});

const experimentsRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "experiments",
  component: function ExperimentsRoute() {
    const { projectId } = experimentsRoute.useParams();
    return <ExperimentsPage projectId={projectId} />;
  },
});

const teachersRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "teachers",
  component: function TeachersRoute() {
    const { projectId } = teachersRoute.useParams();
    return <TeachersPage projectId={projectId} />;
  },
});

const membersRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "members",
  component: function MembersRoute() {
    const { projectId } = membersRoute.useParams();
    return <MembersPage projectId={projectId} />;
  },
});

const settingsRoute = createRoute({
  getParentRoute: () => projectRoute,
  path: "settings",
  component: function SettingsRoute() {
    const { projectId } = settingsRoute.useParams();
    return <ProjectSettingsPage projectId={projectId} />;
  },
});

export const routeTree = rootRoute.addChildren([
  loginRoute,
  resetPasswordRoute,
  authedRoute.addChildren([
    indexRoute,
    projectsRoute,
    usersRoute,
    projectRoute.addChildren([
      projectIndexRoute,
      wizardRoute,
      runRoute.addChildren([runIndexRoute, samplesRoute, traceRoute, reviewRoute, evaluationRoute]),
      promptSetsRoute,
      promptSetRoute,
      judgeRoute,
      experimentsRoute,
      teachersRoute,
      membersRoute,
      settingsRoute,
    ]),
  ]),
]);

export function createAppRouter(queryClient: QueryClient, opts: { history?: RouterHistory } = {}) {
  return createRouter({
    routeTree,
    context: { queryClient },
    defaultPreload: false,
    scrollRestoration: true,
    ...opts,
  });
}

declare module "@tanstack/react-router" {
  interface Register {
    router: ReturnType<typeof createAppRouter>;
  }
}
