import { describe, expect, it, vi } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { jsonResponse, mockApi, renderWithClient, requestsTo, user } from "../../test/helpers";
import { UsersPage } from "./UsersPage";

const admin = { ...user, is_admin: true, is_active: true };
const accounts = [
  admin,
  { id: 2, email: "bob@example.com", name: "Bob", is_admin: false, is_active: true, created_at: "2026-01-02T00:00:00" },
  { id: 3, email: "cy@example.com", name: "Cy", is_admin: false, is_active: false, created_at: "2026-01-03T00:00:00" },
];

function routes(me = admin) {
  const sent: { path: string; body: unknown }[] = [];
  const record = async (r: Request) => {
    const body = await r.json();
    sent.push({ path: `${r.method} ${new URL(r.url).pathname}`, body });
    return body;
  };
  const fetchMock = mockApi({
    "GET /api/users/me": () => jsonResponse(me),
    "GET /api/users": () => jsonResponse(accounts),
    "POST /api/users": async (r) => {
      const body = await record(r);
      if (body.email === "bob@example.com")
        return jsonResponse({ error: { code: "email_taken", message: "a user with email 'bob@example.com' already exists" } }, 409);
      const made = { id: 4, email: body.email, name: body.name, is_admin: body.is_admin, is_active: true, created_at: "2026-01-04" };
      return body.password
        ? jsonResponse({ ...made, reset_token: null, reset_expires_at: null }, 201)
        : jsonResponse({ ...made, reset_token: "dst_invite-token", reset_expires_at: "2026-01-07T00:00:00" }, 201);
    },
    "PATCH /api/users/1": async (r) => {
      await record(r);
      return jsonResponse(
        { error: { code: "last_admin", message: "ada@example.com is the last active administrator; make another one first" } },
        409,
      );
    },
    "PATCH /api/users/2": async (r) => jsonResponse({ ...accounts[1], ...(await record(r)) }),
    "PATCH /api/users/3": async (r) => jsonResponse({ ...accounts[2], ...(await record(r)) }),
    "POST /api/users/2/password": async (r) => {
      const body = await record(r);
      return body.password
        ? jsonResponse({ reset_token: null, reset_expires_at: null })
        : jsonResponse({ reset_token: "dst_reset-token", reset_expires_at: "2026-01-07T00:00:00" });
    },
  });
  return { fetchMock, sent };
}

/** Click then paste: one event per field, not one per character (the suite runs on loaded machines). */
async function typeIn(el: HTMLElement, text: string) {
  await userEvent.click(el);
  await userEvent.paste(text);
}

const row = async (email: string) =>
  (await screen.findAllByTestId("user-row")).find((r) => r.textContent?.includes(email)) as HTMLElement;

describe("UsersPage", () => {
  it("tells non-administrators the page is not theirs and asks the API nothing", async () => {
    const { fetchMock } = routes({ ...user, is_admin: false, is_active: true });
    renderWithClient(<UsersPage />);
    expect(await screen.findByTestId("users-not-admin")).toHaveTextContent("Only administrators");
    expect(requestsTo(fetchMock, "/api/users")).toHaveLength(0);
  });

  it("shows accounts active and deactivated, admins marked", async () => {
    routes();
    renderWithClient(<UsersPage />);
    const rows = await screen.findAllByTestId("user-row");
    expect(rows).toHaveLength(3);
    expect(rows[0]).toHaveTextContent("Ada (you)");
    expect(rows[0]).toHaveTextContent("admin");
    expect(rows[1]).toHaveTextContent("active");
    expect(rows[2]).toHaveTextContent("deactivated");
    expect(within(rows[2]).getByRole("button", { name: "Reactivate" })).toBeInTheDocument();
    expect(within(rows[2]).queryByRole("button", { name: "Reset link" })).not.toBeInTheDocument();
  });

  it("invites without a password and shows the one-time link once", async () => {
    const { sent } = routes();
    renderWithClient(<UsersPage />);
    await screen.findAllByTestId("user-row");
    await typeIn(screen.getByTestId("user-email"), "dee@example.com");
    await typeIn(screen.getByTestId("user-name"), "Dee");
    expect(screen.getByTestId("user-submit")).toHaveTextContent("Invite");
    await userEvent.click(screen.getByTestId("user-submit"));
    const box = await screen.findByTestId("reset-link");
    expect(box).toHaveTextContent("Invited dee@example.com");
    expect(within(box).getByRole("textbox", { name: "One-time link" })).toHaveValue(
      `${window.location.origin}/reset-password#dst_invite-token`,
    );
    expect(sent).toEqual([{ path: "POST /api/users", body: { email: "dee@example.com", name: "Dee", is_admin: false } }]);
  });

  it("creates with a password, and shows the API's error", async () => {
    const { sent } = routes();
    renderWithClient(<UsersPage />);
    await screen.findAllByTestId("user-row");
    await typeIn(screen.getByTestId("user-email"), "bob@example.com");
    await userEvent.click(screen.getByTestId("user-submit"));
    expect(await screen.findByTestId("users-error")).toHaveTextContent("already exists");
    await userEvent.clear(screen.getByTestId("user-email"));
    await typeIn(screen.getByTestId("user-email"), "eve@example.com");
    await typeIn(screen.getByTestId("user-password"), "long-enough-pw");
    await userEvent.click(screen.getByTestId("user-admin"));
    expect(screen.getByTestId("user-submit")).toHaveTextContent("Create");
    await userEvent.click(screen.getByTestId("user-submit"));
    expect(await screen.findByTestId("users-note")).toHaveTextContent("Created eve@example.com");
    expect(screen.queryByTestId("users-error")).not.toBeInTheDocument();
    expect(screen.queryByTestId("reset-link")).not.toBeInTheDocument();
    expect(sent[1].body).toEqual({ email: "eve@example.com", name: "", is_admin: true, password: "long-enough-pw" });
  });

  it("deactivates after a confirmation, reactivates, and says why the last admin stays", async () => {
    const { sent } = routes();
    renderWithClient(<UsersPage />);
    const confirm = vi.spyOn(window, "confirm").mockReturnValue(true);
    await userEvent.click(within(await row("bob@example.com")).getByRole("button", { name: "Deactivate" }));
    await waitFor(() => expect(sent).toContainEqual({ path: "PATCH /api/users/2", body: { is_active: false } }));
    expect(confirm).toHaveBeenCalledTimes(1);
    await userEvent.click(within(await row("cy@example.com")).getByRole("button", { name: "Reactivate" }));
    await waitFor(() => expect(sent).toContainEqual({ path: "PATCH /api/users/3", body: { is_active: true } }));
    expect(confirm).toHaveBeenCalledTimes(1); // reactivating asks nothing
    await userEvent.click(within(await row("ada@example.com")).getByRole("button", { name: "Deactivate" }));
    expect(await screen.findByTestId("users-error")).toHaveTextContent("last active administrator");
  });

  it("hands out a reset link, or sets a password", async () => {
    const { sent } = routes();
    renderWithClient(<UsersPage />);
    await userEvent.click(within(await row("bob@example.com")).getByRole("button", { name: "Reset link" }));
    const box = await screen.findByTestId("reset-link");
    expect(box).toHaveTextContent("Reset link for bob@example.com");
    expect(within(box).getByRole("textbox")).toHaveValue(`${window.location.origin}/reset-password#dst_reset-token`);
    await userEvent.click(within(await row("bob@example.com")).getByRole("button", { name: "Set password" }));
    await typeIn(screen.getByLabelText("New password for bob@example.com"), "another-password");
    await userEvent.click(within(screen.getByTestId("set-password")).getByRole("button", { name: "Save" }));
    expect(await screen.findByTestId("users-note")).toHaveTextContent("New password set for bob@example.com");
    expect(screen.queryByTestId("reset-link")).not.toBeInTheDocument(); // the link is not shown again
    expect(sent).toEqual([
      { path: "POST /api/users/2/password", body: {} },
      { path: "POST /api/users/2/password", body: { password: "another-password" } },
    ]);
  });
});
