"""The dashboard's typed client is generated from the API's schema; they must not drift."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.spec import api_spec

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down

ROOT = Path(__file__).resolve().parents[1]


def test_committed_schema_matches_the_api():
    committed = json.loads((ROOT / "frontend" / "openapi.json").read_text())
    assert committed == api_spec(), (
        "frontend/openapi.json is stale: run `make client` to regenerate it and the typed client"
    )


def test_operation_ids_are_unique_and_present():
    ops = [op.get("operationId") for path in api_spec()["paths"].values() for op in path.values()]
    assert None not in ops and len(ops) == len(set(ops))


def test_every_operation_declares_its_error_responses_with_the_error_body():
    spec = api_spec()
    missing = []
    for url, ops in spec["paths"].items():
        for method, op in ops.items():
            for status in ("400", "401", "403", "404", "409", "413", "422", "429"):
                content = op["responses"].get(status, {}).get("content", {}).get("application/json", {})
                if content.get("schema") != {"$ref": "#/components/schemas/ErrorBody"}:
                    missing.append(f"{method} {url} {status}")
    assert missing == []
    export = spec["paths"]["/api/projects/{project_id}/runs/{run_id}/export"]["get"]["responses"]["200"]
    assert list(export["content"]) == ["application/x-ndjson"]


def test_the_dashboards_stage_kinds_fixture_holds_the_apis_defaults():
    """frontend/src/test/stage-kinds.json stands in for GET .../stage-kinds in the wizard's tests (its
    starting state is the stages' defaults): each setting's default as the API's schemas give it."""
    from backend.runs.stages import STAGES

    def defaults(schema: dict) -> dict:
        # the top level's and each model's under $defs (LoRA's; each method's of the train union)
        models = {"": schema, **schema.get("$defs", {})}
        return {
            name: {n: p["default"] for n, p in m.get("properties", {}).items() if "default" in p}
            for name, m in models.items()
        }

    fixture = json.loads((ROOT / "frontend" / "src" / "test" / "stage-kinds.json").read_text())
    assert [k["name"] for k in fixture] == list(STAGES)
    for kind in fixture:
        api, held = STAGES[kind["name"]].settings_schema(), kind["settings_schema"]
        api_defaults, held_defaults = defaults(api), defaults(held)
        # the fixture may leave out models the wizard never reads, never one the wizard's defaults come from
        assert held_defaults == {m: api_defaults[m] for m in held_defaults}, kind["name"]
        assert api_defaults[""] == held_defaults[""], kind["name"]
        assert "LoraSettings" not in api_defaults or "LoraSettings" in held_defaults
        # a union (train): the same variants, told apart the same way
        assert held.get("oneOf") == api.get("oneOf") and held.get("discriminator") == api.get("discriminator")
        for ref in api.get("oneOf", []):
            assert ref["$ref"].rsplit("/", 1)[1] in held_defaults, kind["name"]
        # the named choices the wizard offers (train's waivable pre-flight checks) are the API's
        for name, model in held.get("$defs", {}).items():
            for field, prop in model.get("properties", {}).items():
                if "items" in prop:
                    assert prop["items"] == api["$defs"][name]["properties"][field]["items"], (name, field)
