import { describe, expect, it } from "vitest";
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { jsonResponse, mockApi, renderWithRouter, requestsTo } from "../../test/helpers";
import { ResetPasswordPage } from "./ResetPasswordPage";

function routes() {
  const sent: unknown[] = [];
  const fetchMock = mockApi({
    "POST /api/auth/reset-password": async (r) => {
      const body = await r.json();
      sent.push(body);
      if (body.token !== "dst_good")
        return jsonResponse({ error: { code: "invalid_reset_token", message: "this reset link is invalid, used or expired" } }, 401);
      return new Response(null, { status: 204 });
    },
  });
  return { fetchMock, sent };
}

async function fill(password: string, again = password) {
  await userEvent.click(await screen.findByTestId("reset-password"));
  await userEvent.paste(password);
  await userEvent.click(screen.getByTestId("reset-again"));
  await userEvent.paste(again);
  await userEvent.click(screen.getByTestId("reset-submit"));
}

describe("ResetPasswordPage", () => {
  it("sets the password with the link's token, then points to sign-in", async () => {
    const { sent } = routes();
    renderWithRouter(<ResetPasswordPage token="dst_good" />);
    await fill("a-good-password");
    expect(await screen.findByTestId("reset-done")).toHaveTextContent("Sign in");
    expect(sent).toEqual([{ token: "dst_good", password: "a-good-password" }]);
  });

  it("refuses two different passwords without asking the API", async () => {
    const { fetchMock } = routes();
    renderWithRouter(<ResetPasswordPage token="dst_good" />);
    await fill("a-good-password", "another-password");
    expect(await screen.findByTestId("reset-error")).toHaveTextContent("differ");
    expect(requestsTo(fetchMock, "/api/auth/reset-password")).toHaveLength(0);
  });

  it("shows the API's answer for a spent link", async () => {
    routes();
    renderWithRouter(<ResetPasswordPage token="dst_used" />);
    await fill("a-good-password");
    await waitFor(() => expect(screen.getByTestId("reset-error")).toHaveTextContent("invalid, used or expired"));
    expect(screen.queryByTestId("reset-done")).not.toBeInTheDocument();
  });

  it("says it needs a link when opened without one", async () => {
    renderWithRouter(<ResetPasswordPage token={undefined} />);
    expect(await screen.findByRole("alert")).toHaveTextContent("needs the link");
    expect(await screen.findByTestId("reset-submit")).toBeDisabled();
  });
});
