"""Input PostgreSQL cannot store never reaches it: an id of 2**31 or more, and U+0000 in any string of
a request, are 422 with the field's path on every route, and nothing changes."""

from __future__ import annotations

import pytest

from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.spec import api_spec

BIG = 2**31


@pytest.fixture
def owned(client, accounts, tmp_path):
    owner = accounts.user()
    pid = accounts.project(owner)
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / "p.jsonl", [{"prompt": "what is 2+2?"}]))
    return owner, pid, pset


def _paths(r) -> set[str]:
    return {f["path"] for f in r.json()["error"].get("fields", [])}


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("GET", f"/api/projects/{BIG}", None, "path.project_id"),
        ("DELETE", f"/api/tokens/{BIG}", None, "path.token_id"),
        ("DELETE", f"/api/prices/{BIG}", None, "path.price_id"),
        ("GET", f"/api/projects/{{p}}/runs/{BIG}", None, "path.run_id"),
        ("GET", f"/api/projects/{{p}}/runs/{BIG}/stages", None, "path.run_id"),
        ("GET", f"/api/projects/{{p}}/jobs/{BIG}", None, "path.job_id"),
        ("GET", f"/api/projects/{{p}}/teachers/{BIG}", None, "path.teacher_id"),
        ("GET", f"/api/projects/{{p}}/prompt-sets/{BIG}", None, "path.prompt_set_id"),
        ("PATCH", f"/api/projects/{{p}}/members/{BIG}", {"role": "viewer"}, "path.user_id"),
        ("GET", f"/api/projects/{{p}}/snapshots?run_id={BIG}", None, "query.run_id"),
        (
            "POST",
            "/api/projects/{p}/runs",
            {"name": "r", "recipe": {"prompt_set_id": BIG}},
            "body.recipe.prompt_set_id",
        ),
        (
            "POST",
            "/api/projects/{p}/runs",
            {"name": "r", "recipe": {"prompt_set_id": "{pset}", "stages": ["rollout"], "teacher_id": BIG}},
            "body.recipe.teacher_id",
        ),
        (
            "POST",
            "/api/projects/{p}/runs/estimate",
            {"recipe": {"prompt_set_id": BIG, "teacher_id": 1}},
            "body.recipe.prompt_set_id",
        ),
        (
            "POST",
            "/api/projects/{p}/prompt-sets/{pset}/versions",
            {"decontaminate_against": BIG},
            "body.decontaminate_against",
        ),
        ("POST", "/api/projects/{p}/prompt-sets/{pset}/synthesize", {"teacher_id": BIG}, "body.teacher_id"),
        (
            "POST",
            "/api/projects/{p}/runs",
            {"name": "r", "recipe": {"prompt_set_id": "{pset}", "rollout": {"seed": 2**64}}},
            "body.recipe.rollout.seed",
        ),
    ],
)
def test_ids_past_the_column_range_are_422_with_the_path(client, accounts, owned, method, url, body, field):
    owner, pid, pset = owned
    headers = accounts.user(admin=True)["headers"] if "/prices" in url else owner["headers"]
    url = url.replace("{p}", str(pid)).replace("{pset}", str(pset))
    if body and "recipe" in body and body["recipe"].get("prompt_set_id") == "{pset}":
        body = {**body, "recipe": {**body["recipe"], "prompt_set_id": pset}}
    r = client.request(method, url, headers=headers, json=body)
    assert r.status_code == 422, r.text
    assert field in _paths(r), r.text


def test_every_integer_a_request_takes_is_bounded():
    """The class behind the examples above: an integer with no maximum in a path, a query or a body
    reaches the database (or a teacher) as whatever the client sent."""
    spec = api_spec()
    comps = spec["components"]["schemas"]
    unbounded: list[str] = []

    def walk(s: dict, path: str, depth: int = 0) -> None:
        while "$ref" in s:
            s = comps[s["$ref"].rsplit("/", 1)[-1]]
        for sub in s.get("anyOf", []) + s.get("oneOf", []) + s.get("allOf", []):
            walk(sub, path, depth)
        if s.get("type") == "integer" and "const" not in s and "enum" not in s and "maximum" not in s:
            unbounded.append(path)
        if depth < 8:
            for name, sub in s.get("properties", {}).items():
                walk(sub, f"{path}.{name}", depth + 1)
            if isinstance(s.get("items"), dict):
                walk(s["items"], f"{path}[]", depth + 1)
            if isinstance(s.get("additionalProperties"), dict):
                walk(s["additionalProperties"], f"{path}.*", depth + 1)

    for url, ops in spec["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                walk(p["schema"], f"{method} {url} {p['in']}.{p['name']}")
            for c in op.get("requestBody", {}).get("content", {}).values():
                walk(c["schema"], f"{method} {url} body")
    assert unbounded == []


NUL = "a\x00b"


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("POST", "/api/projects", {"name": NUL}, "body.name"),
        ("PATCH", "/api/projects/{p}", {"name": NUL}, "body.name"),
        ("POST", "/api/tokens", {"name": NUL}, "body.name"),
        ("POST", "/api/auth/login", {"email": "a@example.com", "password": NUL}, "body.password"),
        ("POST", "/api/projects/{p}/teachers", {"name": NUL, "backend": "vllm", "model": "m"}, "body.name"),
        ("POST", "/api/projects/{p}/teachers", {"name": "t", "backend": "vllm", "model": NUL}, "body.model"),
        (
            "POST",
            "/api/projects/{p}/runs",
            {"name": "r", "recipe": {"prompt_set_id": "{pset}", "rollout": {"system_prompt": NUL}}},
            "body.recipe.rollout.system_prompt",
        ),
        (
            "POST",
            "/api/projects/{p}/runs",
            {"name": "r", "recipe": {"prompt_set_id": "{pset}", "rollout": {"stop": ["x", NUL]}}},
            "body.recipe.rollout.stop.1",
        ),
        ("POST", "/api/projects/{p}/runs", {"name": NUL, "recipe": {"prompt_set_id": "{pset}"}}, "body.name"),
        ("POST", "/api/projects/{p}/runs", {"name": "r", "recipe": {NUL: 1}}, f"body.recipe.{NUL}"),
        ("PUT", "/api/prices", {"provider": "p", "model": NUL}, "body.model"),
        ("PUT", "/api/prices", {"provider": "p", "model": "m", "note": NUL}, "body.note"),
        ("GET", "/api/projects/{p}/runs?cursor=a%00b", None, "query.cursor"),
    ],
)
def test_nul_in_any_string_is_422_with_the_path(client, accounts, owned, method, url, body, field):
    owner, pid, pset = owned
    url = url.replace("{p}", str(pid))
    if body and isinstance(body.get("recipe"), dict) and body["recipe"].get("prompt_set_id") == "{pset}":
        body = {**body, "recipe": {**body["recipe"], "prompt_set_id": pset}}
    headers = accounts.user(admin=True)["headers"] if "/prices" in url else owner["headers"]
    r = client.request(method, url, headers=headers, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"
    assert field in _paths(r), r.text
    assert client.get(f"/api/projects/{pid}/runs", headers=owner["headers"]).json()["items"] == []


def test_nul_in_a_multipart_field_is_422_with_the_path(client, owned, tmp_path):
    owner, pid, _ = owned
    files = {"file": ("p.jsonl", b'{"prompt": "x"}\n', "application/jsonl")}
    r = client.post(
        f"/api/projects/{pid}/prompt-sets", headers=owner["headers"], data={"name": NUL}, files=files
    )
    assert r.status_code == 422, r.text
    assert "body.name" in _paths(r)


NON_FINITE = [
    # JSON's non-standard literals (Python's parser takes them) and a number past a double's range
    ('{"provider": "nf", "model": "m", "input_per_m": Infinity}', "body.input_per_m"),
    ('{"provider": "nf", "model": "m", "output_per_m": NaN}', "body.output_per_m"),
    ('{"provider": "nf", "model": "m", "gpu_hour": 1e999}', "body.gpu_hour"),
    # strings a float field would coerce to inf
    ('{"provider": "nf", "model": "m", "input_per_m": "Infinity"}', "body.input_per_m"),
    ('{"provider": "nf", "model": "m", "gpu_hour": "inf"}', "body.gpu_hour"),
]


@pytest.mark.parametrize(("body", "field"), NON_FINITE)
def test_a_non_finite_price_is_422_with_the_path_and_prices_stay_listable(client, accounts, body, field):
    """A stored Infinity came back from GET /api/prices as null, against PriceOut's schema."""
    headers = {**accounts.user(admin=True)["headers"], "content-type": "application/json"}
    r = client.put("/api/prices", headers=headers, content=body)
    assert r.status_code == 422, r.text
    assert field in _paths(r), r.text
    prices = client.get("/api/prices", headers=headers)
    assert prices.status_code == 200
    assert not [p for p in prices.json() if p["provider"] == "nf"]


@pytest.mark.parametrize("value", ["Infinity", "-Infinity", '"inf"', "NaN"])
def test_a_non_finite_recipe_setting_is_422_with_the_path(client, owned, value):
    """The judge's accept threshold has no bound of its own, so only finiteness refuses these."""
    owner, pid, pset = owned
    field = "body.recipe.judge.accept_threshold"
    body = (
        f'{{"name": "r", "recipe": {{"prompt_set_id": {pset}, "stages": ["profile"],'
        f' "judge": {{"accept_threshold": {value}}}}}}}'
    )
    headers = {**owner["headers"], "content-type": "application/json"}
    r = client.post(f"/api/projects/{pid}/runs", headers=headers, content=body)
    assert r.status_code == 422, r.text
    assert any(p.startswith(field) for p in _paths(r)), r.text
    assert client.get(f"/api/projects/{pid}/runs", headers=owner["headers"]).json()["items"] == []
