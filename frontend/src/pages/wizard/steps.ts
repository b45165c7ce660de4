/** The wizard's steps, and the step each recipe field (an API error's path) belongs to. */

export const STEPS = [
  { id: "data", title: "Data and teacher" },
  { id: "sampling", title: "Sampling" },
  { id: "verify", title: "Verifiers and judge" },
  { id: "selection", title: "Selection" },
  { id: "training", title: "Student and training" },
  { id: "evaluation", title: "Evaluation" },
  { id: "launch", title: "Review and launch" },
] as const;
export type StepId = (typeof STEPS)[number]["id"];

/** "body.recipe.rollout.n" (create) or "body.rollout.n" (estimate) -> "rollout.n". */
export function recipePath(path: string): string {
  return path.replace(/^body\.recipe\.?/, "").replace(/^body\.?/, "");
}

/** The step whose fields a recipe path belongs to. */
export function stepOfPath(path: string): StepId {
  const p = recipePath(path);
  const head = p.split(".")[0];
  if (head === "rollout") return "sampling";
  if (head === "filter" || head === "judge" || head === "review") return "verify";
  if (head === "snapshot" || head === "score") return "selection";
  if (head === "train") return "training";
  if (head === "evaluate") return "evaluation";
  if (head === "name" || head === "prompt_set_id" || head === "teacher_id" || head === "profile") return "data";
  return "launch";
}
