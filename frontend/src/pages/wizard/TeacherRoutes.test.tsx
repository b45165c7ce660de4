import { fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import { STAGE_KINDS } from "../../test/stageKinds";
import { buildRecipe, defaultState, stateFromRecipe } from "./recipe";
import { equalsOf, TeacherRoutes, type TeacherRoute } from "./TeacherRoutes";

const TEACHERS = [
  { id: 1, name: "alpha", backend: "openai_compat", model: "a" },
  { id: 2, name: "beta", backend: "openai_compat", model: "b" },
] as never[];

function Harness({ seen }: { seen: TeacherRoute[][] }) {
  const [routes, setRoutes] = useState<TeacherRoute[]>([]);
  return (
    <TeacherRoutes
      routes={routes}
      teachers={TEACHERS}
      path="rollout.teachers"
      onChange={(r) => {
        seen.push(r);
        setRoutes(r);
      }}
    />
  );
}

describe("the wizard's teacher routes", () => {
  it("adds a tag route and a field route, each to its teacher, and removes one", () => {
    const seen: TeacherRoute[][] = [];
    render(<Harness seen={seen} />);
    fireEvent.click(screen.getByTestId("rollout.teachers-add"));
    fireEvent.change(screen.getByTestId("route-0-tag"), { target: { value: "math" } });
    fireEvent.change(screen.getByTestId("route-0-teacher"), { target: { value: "2" } });
    fireEvent.click(screen.getByTestId("rollout.teachers-add"));
    fireEvent.change(screen.getByTestId("route-1-kind"), { target: { value: "field" } });
    fireEvent.change(screen.getByTestId("route-1-field"), { target: { value: "metadata.level" } });
    fireEvent.change(screen.getByTestId("route-1-equals"), { target: { value: "2" } });
    fireEvent.change(screen.getByTestId("route-1-teacher"), { target: { value: "1" } });
    expect(seen.at(-1)).toEqual([
      { match: { tag: "math" }, teacher_id: 2 },
      { match: { field: "metadata.level", equals: 2 }, teacher_id: 1 },
    ]);
    fireEvent.click(screen.getByTestId("route-0-remove"));
    expect(seen.at(-1)).toEqual([{ match: { field: "metadata.level", equals: 2 }, teacher_id: 1 }]);
  });

  it("reads equals as JSON where it parses, else as text", () => {
    expect(equalsOf("2")).toBe(2);
    expect(equalsOf("true")).toBe(true);
    expect(equalsOf("code")).toBe("code");
  });

  it("puts the routes in the recipe and reads them back", () => {
    const d = defaultState(STAGE_KINDS);
    const routes: TeacherRoute[] = [{ match: { tag: "math" }, teacher_id: 2 }];
    const s = { ...d, prompt_set_id: 1, teacher_id: 1, rollout: { ...d.rollout, teachers: routes } };
    const recipe = buildRecipe(s, d) as unknown as Record<string, Record<string, unknown>>;
    expect(recipe.rollout.teachers).toEqual(routes);
    expect(stateFromRecipe(recipe, d).rollout.teachers).toEqual(routes);
    const none = buildRecipe({ ...s, rollout: { ...s.rollout, teachers: [] } }, d) as unknown as Record<string, Record<string, unknown>>;
    expect("teachers" in none.rollout).toBe(false);
  });
});
