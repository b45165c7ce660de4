import { describe, expect, it, vi } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { jsonResponse, mockApi, renderWithClient, requestsTo, user } from "../../test/helpers";
import { MembersPage } from "./MembersPage";

const members = [
  { user_id: 1, email: "ada@example.com", name: "Ada", role: "owner", created_at: "2026-01-01" },
  { user_id: 2, email: "bob@example.com", name: "Bob", role: "viewer", created_at: "2026-01-01" },
];

function routes(role: string) {
  const sent: unknown[] = [];
  const fetchMock = mockApi({
    "GET /api/projects/1": () => jsonResponse({ id: 1, name: "P", description: "", created_at: "2026-01-01", role }),
    "GET /api/users/me": () => jsonResponse(user),
    "GET /api/projects/1/members": () => jsonResponse(members),
    "POST /api/projects/1/members": async (r) => {
      const body = await r.json();
      if (body.email === "nobody@example.com")
        return jsonResponse({ error: { code: "not_found", message: "no user with email nobody@example.com" } }, 404);
      sent.push(body);
      return jsonResponse({ user_id: 3, email: body.email, name: "C", role: body.role, created_at: "2026-01-01" }, 201);
    },
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
  });

  it("lets owners add, change and remove, and shows the API's error", async () => {
    const { sent, fetchMock } = routes("owner");
    renderWithClient(<MembersPage projectId={1} />);
    await screen.findAllByTestId("member-row");
    await userEvent.type(await screen.findByTestId("member-email"), "nobody@example.com");
    await userEvent.click(screen.getByTestId("member-submit"));
    expect(await screen.findByTestId("member-error")).toHaveTextContent("no user with email nobody@example.com");
    await userEvent.clear(screen.getByTestId("member-email"));
    await userEvent.type(screen.getByTestId("member-email"), "cy@example.com");
    await userEvent.selectOptions(screen.getByTestId("member-role"), "maintainer");
    await userEvent.click(screen.getByTestId("member-submit"));
    await waitFor(() => expect(sent).toEqual([{ email: "cy@example.com", role: "maintainer" }]));
    expect(screen.queryByTestId("member-error")).not.toBeInTheDocument();

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
