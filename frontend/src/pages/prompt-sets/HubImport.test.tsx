import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../../App";
import { setToken } from "../../api/token";
import { jsonResponse, mockApi, renderWithClient, requestsTo, user } from "../../test/helpers";
import { hubBody, hubName } from "./HubImport";
import { DEFAULT_CLEANING } from "./CleaningFields";

const project = { id: 3, name: "Distill", description: "", created_at: "2026-01-01T00:00:00", role: "maintainer" };
const job = (over: Record<string, unknown>) => ({
  id: 41, project_id: 3, kind: "prompt_import", status: "running", progress_done: 0, progress_total: null,
  result: {}, error: null, created_at: "2026-01-01T00:00:00", started_at: null, finished_at: null, ...over,
});

describe("import from the Hub", () => {
  it("names the set after the dataset and leaves empty optional fields to the API's defaults", () => {
    expect(hubName("openai/gsm8k")).toBe("gsm8k");
    expect(hubName("/srv/datasets/humaneval/")).toBe("humaneval");
    const body = hubBody({ dataset: " openai/gsm8k ", config: "main", split: "", revision: " ", name: "g", skipInvalid: false, cleaning: DEFAULT_CLEANING });
    expect(body).toEqual({ dataset: "openai/gsm8k", config: "main", name: "g", skip_invalid: false, options: DEFAULT_CLEANING });
  });

  it("posts the split, follows the job and shows why it failed", async () => {
    setToken("t");
    window.history.replaceState(null, "", "/projects/3/prompt-sets");
    const fetchMock = mockApi({
      "GET /api/users/me": () => jsonResponse(user),
      "GET /api/projects/3": () => jsonResponse(project),
      "GET /api/projects/3/prompt-sets": () => jsonResponse([]),
      "POST /api/projects/3/prompt-sets/hub": () => jsonResponse(job({ status: "queued" }), 202),
      "GET /api/projects/3/jobs/41": () =>
        jsonResponse(
          job({
            status: "failed",
            error: {
              code: "hub_unreachable",
              message: "hub:openai/gsm8k (main, train): the Hub cannot be reached for 'openai/gsm8k'; HF_HUB_OFFLINE is set",
              fields: [{ path: "dataset", message: "offline" }],
            },
          }),
        ),
    });
    renderWithClient(<App />);
    const ui = userEvent.setup();
    await ui.click(await screen.findByTestId("hub-open"));
    await ui.type(screen.getByTestId("hub-dataset"), "openai/gsm8k");
    await ui.type(screen.getByTestId("hub-config"), "main");
    expect(screen.getByTestId("hub-name")).toHaveAttribute("placeholder", "gsm8k");
    await ui.click(screen.getByTestId("hub-submit"));
    await waitFor(() => expect(screen.getByTestId("import-result")).toHaveAttribute("data-job-status", "failed"));
    expect(screen.getByTestId("import-result")).toHaveTextContent("HF_HUB_OFFLINE is set");
    const [post] = requestsTo(fetchMock, "/api/projects/3/prompt-sets/hub");
    expect(await post.json()).toMatchObject({ dataset: "openai/gsm8k", config: "main", split: "train", name: "gsm8k" });
  });

  it("shows a refused folder's message beside the field", async () => {
    setToken("t");
    window.history.replaceState(null, "", "/projects/3/prompt-sets");
    const message = "local dataset folders must lie under a folder the administrator allows (DISTILLERY_DATASET_ROOTS)";
    mockApi({
      "GET /api/users/me": () => jsonResponse(user),
      "GET /api/projects/3": () => jsonResponse(project),
      "GET /api/projects/3/prompt-sets": () => jsonResponse([]),
      "POST /api/projects/3/prompt-sets/hub": () =>
        jsonResponse({ error: { code: "dataset_path_not_allowed", message: `dataset: ${message}`, fields: [{ path: "body.dataset", message }] } }, 422),
    });
    renderWithClient(<App />);
    const ui = userEvent.setup();
    await ui.click(await screen.findByTestId("hub-open"));
    await ui.type(screen.getByTestId("hub-dataset"), "/etc");
    await ui.click(screen.getByTestId("hub-submit"));
    expect(await screen.findByText(message)).toHaveClass("field-error");
    expect(screen.queryByTestId("import-result")).toBeNull();
  });
});
