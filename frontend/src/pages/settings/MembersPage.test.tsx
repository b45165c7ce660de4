import { describe, expect, it, vi } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { jsonResponse, mockApi, renderWithClient, requestsTo, user } from "../../test/helpers";
import { MembersPage } from "./MembersPage";

const members = [
  { user_id: 1, email: "ada@example.com", name: "Ada", role: "owner", created_at: "2026-01-01" },
  { user_id: 2, email: "bob@example.com", name: "Bob", role: "viewer", created_at: "2026-01-01" },
];

const pending = [{ id: 7, email: "Dee@example.com", role: "viewer", status: "pending", created_at: "2026-01-01" }];

function routes(role: string) {
  const sent: unknown[] = [];
  const fetchMock = mockApi({
    "GET /api/projects/1": () => jsonResponse({ id: 1, name: "P", description: "", created_at: "2026-01-01", role }),
    "GET /api/users/me": () => jsonResponse(user),
    "GET /api/projects/1/members": () => jsonResponse(members),
    "GET /api/projects/1/invitations": () => jsonResponse(pending),
    "POST /api/projects/1/invitations": async (r) => {
      const body = await r.json();
      if (body.email === "ada@example.com")
        return jsonResponse({ error: { code: "already_member", message: "ada@example.com is already a member" } }, 409);
      sent.push(body);
      return jsonResponse({ id: 8, email: body.email, role: body.role, status: "pending", created_at: "2026-01-01" }, 201);
    },
    "DELETE /api/projects/1/invitations/7": () => new Response(null, { status: 204 }),
    "PATCH /api/projects/1/members/2": async (r) => {
      sent.push(await r.json());
      return jsonResponse({ ...members[1], role: "reviewer" });
    },
    "DELETE /api/projects/1/members/2": () => new Response(null, { status: 204 }),
  });
  return { fetchMock, sent };
}

describe("MembersPage", () => {
  it("lists members with roles, read-only below owner", async () => {
    routes("maintainer");
    renderWithClient(<MembersPage projectId={1} />);
    const rows = await screen.findAllByTestId("member-row");
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent("Ada (you)");
    expect(rows[1]).toHaveTextContent("viewer");
    expect(screen.queryByTestId("member-add")).not.toBeInTheDocument();
    expect(screen.queryByTestId("member-role-select")).not.toBeInTheDocument();
    expect(screen.queryByTestId("invitations-table")).not.toBeInTheDocument();
  });

  it("shows owners the pending invitations and revokes one", async () => {
    const { fetchMock } = routes("owner");
    renderWithClient(<MembersPage projectId={1} />);
    const rows = await screen.findAllByTestId("invitation-row");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toHaveTextContent("Dee@example.com");
    expect(rows[0]).toHaveTextContent("viewer");
    vi.spyOn(window, "confirm").mockReturnValue(true);
    await userEvent.click(within(rows[0]).getByRole("button", { name: "Revoke" }));
    await waitFor(() =>
      expect(requestsTo(fetchMock, "/api/projects/1/invitations/7").some((r) => r.method === "DELETE")).toBe(true),
    );
  });

  it("lets owners invite, change and remove, and shows the API's error", async () => {
    const { sent, fetchMock } = routes("owner");
    renderWithClient(<MembersPage projectId={1} />);
    await screen.findAllByTestId("member-row");
    await userEvent.type(await screen.findByTestId("member-email"), "ada@example.com");
    await userEvent.click(screen.getByTestId("member-submit"));
    expect(await screen.findByTestId("member-error")).toHaveTextContent("ada@example.com is already a member");
    await userEvent.clear(screen.getByTestId("member-email"));
    await userEvent.type(screen.getByTestId("member-email"), "cy@example.com");
    await userEvent.selectOptions(screen.getByTestId("member-role"), "maintainer");
    await userEvent.click(screen.getByTestId("member-submit"));
    await waitFor(() => expect(sent).toEqual([{ email: "cy@example.com", role: "maintainer" }]));
    expect(screen.queryByTestId("member-error")).not.toBeInTheDocument();
    // an invitation, not a member: the page says so, and the members list is unchanged
    expect(await screen.findByTestId("member-invited")).toHaveTextContent("Invited cy@example.com");
    expect(screen.getAllByTestId("member-row")).toHaveLength(2);

    const bob = screen.getAllByTestId("member-row")[1];
    await userEvent.selectOptions(within(bob).getByTestId("member-role-select"), "reviewer");
    await waitFor(() => expect(sent[1]).toEqual({ role: "reviewer" }));
    vi.spyOn(window, "confirm").mockReturnValue(true);
    await userEvent.click(within(bob).getByRole("button", { name: "Remove" }));
    await waitFor(() =>
      expect(requestsTo(fetchMock, "/api/projects/1/members/2").some((r) => r.method === "DELETE")).toBe(true),
    );
  }, 20_000);
});
