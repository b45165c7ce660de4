import type { Role } from "../api/client";

const ORDER: Role[] = ["viewer", "reviewer", "maintainer", "owner"];

/** Whether `role` is at least `needed` (viewer < reviewer < maintainer < owner). */
export function hasRole(role: Role | null | undefined, needed: Role): boolean {
  if (!role) return false;
  return ORDER.indexOf(role) >= ORDER.indexOf(needed);
}

export const ROLES: Role[] = [...ORDER];
