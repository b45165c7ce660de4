import type { Schemas } from "../api/client";

type Source = Schemas["RolloutEstimate"]["seconds_source"];

/** Where an estimate's time per attempt comes from (backend/rollouts/estimate.py), best source first. */
export const SECONDS_SOURCE: Record<Source, string> = {
  teacher: " (from this teacher's earlier runs)",
  probe: " (at the speed the teacher's probe measured)",
  backend: " (from other teachers of its backend here)",
  default: " (at the backend's default speed: assumed, not measured; Measure speed under Teachers)",
};
