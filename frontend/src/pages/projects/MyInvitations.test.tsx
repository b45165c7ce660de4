import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { jsonResponse, mockApi, renderWithClient, requestsTo } from "../../test/helpers";
import { MyInvitations } from "./MyInvitations";

const invitation = (id: number, project_name: string) => ({
  id,
  project_id: id * 10,
  project_name,
  role: "reviewer",
  invited_by: "Ada",
  created_at: "2026-01-01T00:00:00",
});

describe("MyInvitations", () => {
  it("shows nothing when there are no invitations", async () => {
    const fetchMock = mockApi({ "GET /api/invitations": () => jsonResponse([]) });
    const { container } = renderWithClient(<MyInvitations />);
    await waitFor(() => expect(requestsTo(fetchMock, "/api/invitations")).toHaveLength(1));
    expect(container).toBeEmptyDOMElement();
  });

  it("accepts one and declines another, then refreshes the list", async () => {
    let open = [invitation(1, "Evals"), invitation(2, "Other")];
    const fetchMock = mockApi({
      "GET /api/invitations": () => jsonResponse(open),
      "POST /api/invitations/1/accept": () => {
        open = open.filter((i) => i.id !== 1);
        return jsonResponse({ id: 10, name: "Evals", slug: "evals-10", description: "", created_at: "2026-01-01", role: "reviewer" });
      },
      "POST /api/invitations/2/decline": () => {
        open = open.filter((i) => i.id !== 2);
        return new Response(null, { status: 204 });
      },
    });
    renderWithClient(<MyInvitations />);
    const rows = await screen.findAllByTestId("my-invitation");
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent("Evals");
    expect(rows[0]).toHaveTextContent("reviewer");
    expect(rows[0]).toHaveTextContent("Ada");
    await userEvent.click(within(rows[0]).getByRole("button", { name: "Accept" }));
    await waitFor(() => expect(screen.getAllByTestId("my-invitation")).toHaveLength(1));
    expect(requestsTo(fetchMock, "/api/invitations/1/accept")).toHaveLength(1);
    await userEvent.click(within(screen.getByTestId("my-invitation")).getByRole("button", { name: "Decline" }));
    await waitFor(() => expect(screen.queryByTestId("my-invitations")).not.toBeInTheDocument());
    expect(requestsTo(fetchMock, "/api/invitations/2/decline")).toHaveLength(1);
  });

  it("shows the API's error", async () => {
    mockApi({
      "GET /api/invitations": () => jsonResponse([invitation(3, "Gone")]),
      "POST /api/invitations/3/accept": () =>
        jsonResponse({ error: { code: "invitation_not_found", message: "invitation 3 not found" } }, 404),
    });
    renderWithClient(<MyInvitations />);
    await userEvent.click(await screen.findByRole("button", { name: "Accept" }));
    expect(await screen.findByTestId("my-invitation-error")).toHaveTextContent("invitation 3 not found");
  });
});
