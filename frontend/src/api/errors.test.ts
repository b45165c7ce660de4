import { describe, expect, it } from "vitest";
import { ApiError, errorMessage, toApiError } from "./errors";

describe("errors", () => {
  it("reads the backend error envelope", () => {
    const e = toApiError({ error: { code: "conflict", message: "name taken" } }, new Response(null, { status: 409 }));
    expect(e).toMatchObject({ status: 409, code: "conflict", message: "name taken" });
  });

  it("falls back to the status when the body is not the envelope", () => {
    const e = toApiError(undefined, new Response(null, { status: 502, statusText: "Bad Gateway" }));
    expect(e.message).toBe("Bad Gateway");
    expect(toApiError(undefined, new Response(null, { status: 500 })).message).toBe("HTTP 500");
  });

  it("includes field errors in the message", () => {
    const e = new ApiError(422, "validation_error", "request is invalid", [{ path: "body.name", message: "too short" }]);
    expect(errorMessage(e)).toBe("request is invalid (name: too short)");
    expect(errorMessage(new Error("network down"))).toBe("network down");
  });
});
