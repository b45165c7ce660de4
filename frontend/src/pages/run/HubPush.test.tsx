import { describe, expect, it, vi } from "vitest";
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { jsonResponse, mockApi, renderWithRouter } from "../../test/helpers";
import { HubPush, repoIdProblem } from "./HubPush";

const push = {
  id: 2,
  kind: "snapshot",
  object_id: 7,
  repo_id: "team/data",
  private: true,
  endpoint: "https://huggingface.co",
  job_id: 11,
  status: "queued",
  error: null,
  url: null,
  commit: null,
  created_at: "2026-12-08T00:00:00",
  pushed_at: null,
};

describe("HubPush", () => {
  it("checks the repository id as the Hub does", () => {
    expect(repoIdProblem("team/data")).toBeNull();
    expect(repoIdProblem("data")).toMatch(/namespace\/name/);
    expect(repoIdProblem("team/a--b")).toMatch(/no '--'/);
    expect(repoIdProblem("team/x.git")).toMatch(/'.git'/);
  });

  it("pushes with a repository id and the private flag, follows the job and shows the URL", async () => {
    const sent: unknown[] = [];
    let pushed = false;
    mockApi({
      "GET /api/projects/1/hub": () => jsonResponse({ endpoint: "https://huggingface.co", has_token: true, updated_at: null }),
      "GET /api/projects/1/hub/pushes": () =>
        jsonResponse(pushed ? [{ ...push, status: "succeeded", url: "https://huggingface.co/datasets/team/data", pushed_at: "2026-12-08T00:01:00" }] : []),
      "POST /api/projects/1/snapshots/7/push": async (r) => {
        sent.push(await r.json());
        return jsonResponse(push, 202);
      },
      "GET /api/projects/1/jobs/11": () => {
        pushed = true;
        return jsonResponse({ id: 11, project_id: 1, kind: "hub_push", status: "succeeded", progress_done: 4, progress_total: 4, result: {}, error: null, created_at: "", started_at: null, finished_at: null });
      },
    });
    renderWithRouter(<HubPush projectId={1} kind="snapshot" objectId={7} canPush />);
    await userEvent.click(await screen.findByTestId("hub-push-open"));
    expect(screen.getByTestId("hub-push-dialog")).toHaveTextContent("Push the snapshot to https://huggingface.co");
    await userEvent.type(screen.getByTestId("hub-push-repo"), "data");
    expect(screen.getByTestId("hub-push-repo-problem")).toBeInTheDocument();
    expect(screen.getByTestId("hub-push-submit")).toBeDisabled();
    await userEvent.clear(screen.getByTestId("hub-push-repo"));
    await userEvent.type(screen.getByTestId("hub-push-repo"), "team/data");
    await userEvent.click(screen.getByTestId("hub-push-private")); // public
    await userEvent.click(screen.getByTestId("hub-push-submit"));
    expect(await screen.findByTestId("hub-pushed-url", {}, { timeout: 5000 })).toHaveAttribute("href", "https://huggingface.co/datasets/team/data");
    expect(sent).toEqual([{ repo_id: "team/data", private: false, acknowledge_terms: false }]);
  });

  it("asks for consent where the teacher's terms restrict it, and says when there is no token", async () => {
    const sent: { acknowledge_terms: boolean }[] = [];
    mockApi({
      "GET /api/projects/1/hub": () => jsonResponse({ endpoint: "https://huggingface.co", has_token: false, updated_at: null }),
      "GET /api/projects/1/hub/pushes": () => jsonResponse([]),
      "POST /api/projects/1/models/3/push": async (r) => {
        const body = await r.json();
        sent.push(body);
        if (!body.acknowledge_terms) return jsonResponse({ error: { code: "terms_not_acknowledged", message: "this run's teacher has terms" } }, 403);
        return jsonResponse({ error: { code: "hub_token_missing", message: "this project has no Hub token" } }, 409);
      },
    });
    const confirm = vi.spyOn(window, "confirm").mockReturnValue(true);
    renderWithRouter(<HubPush projectId={1} kind="model" objectId={3} canPush />);
    await userEvent.click(await screen.findByTestId("hub-push-open"));
    expect(await screen.findByTestId("hub-push-no-token")).toHaveTextContent("no Hub token yet");
    await userEvent.type(screen.getByTestId("hub-push-repo"), "team/student");
    await userEvent.click(screen.getByTestId("hub-push-submit"));
    expect(await screen.findByTestId("hub-push-error")).toHaveTextContent("no Hub token");
    expect(confirm).toHaveBeenCalledOnce();
    expect(sent.map((b) => b.acknowledge_terms)).toEqual([false, true]);
    confirm.mockRestore();
  });

  it("shows viewers where it went, without a Push button", async () => {
    mockApi({
      "GET /api/projects/1/hub/pushes": () => jsonResponse([{ ...push, status: "failed", error: { code: "hub_token_refused", message: "the Hub token was refused" } }]),
    });
    renderWithRouter(<HubPush projectId={1} kind="snapshot" objectId={7} canPush={false} />);
    expect(await screen.findByTestId("hub-push-failed")).toHaveTextContent("the Hub token was refused");
    await waitFor(() => expect(screen.queryByTestId("hub-push-open")).not.toBeInTheDocument());
  });
});
