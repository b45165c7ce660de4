import type { Role } from "../api/client";

/** Project roles from least to most trusted (the API enforces them; the dashboard only hides controls). */
export const ROLE_ORDER: Role[] = ["viewer", "reviewer", "maintainer", "owner"];

export function atLeast(role: Role | null | undefined, needed: Role): boolean {
  if (!role) return false;
  return ROLE_ORDER.indexOf(role) >= ROLE_ORDER.indexOf(needed);
}
