"""The dashboard's typed client is generated from the API's schema; they must not drift."""

from __future__ import annotations

import json
from pathlib import Path

from backend.main import create_app

ROOT = Path(__file__).resolve().parents[1]


def test_committed_schema_matches_the_api():
    committed = json.loads((ROOT / "frontend" / "openapi.json").read_text())
    assert committed == create_app().openapi(), (
        "frontend/openapi.json is stale: run `make client` to regenerate it and the typed client"
    )


def test_operation_ids_are_unique_and_present():
    ops = [op.get("operationId") for path in create_app().openapi()["paths"].values() for op in path.values()]
    assert None not in ops and len(ops) == len(set(ops))


def test_every_operation_declares_its_error_responses_with_the_error_body():
    from backend.main import create_app

    spec = create_app().openapi()
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
