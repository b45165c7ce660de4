"""The routing of prompts to teachers (backend/teachers/routing.py): tags, metadata fields, the first
match, the default; and the route's own validation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backend.teachers.routing import RouteMatch, TeacherRoute, route_of, teacher_ids

pytestmark = pytest.mark.pure

ROUTES = [
    TeacherRoute.model_validate({"match": {"tag": "math"}, "teacher_id": 2}),
    TeacherRoute.model_validate({"match": {"field": "metadata.domain", "equals": "code"}, "teacher_id": 3}),
    TeacherRoute.model_validate({"match": {"field": "metadata.src.level", "equals": 2}, "teacher_id": 4}),
]


@pytest.mark.parametrize(
    ("meta", "teacher"),
    [
        ({"tags": ["easy", "math"]}, 2),
        ({"tags": "math"}, 2),
        ({"tag": "math"}, 2),
        ({"tags": ["mathematics"]}, 1),  # a tag is matched whole
        ({"domain": "code"}, 3),
        ({"domain": "code", "tags": ["math"]}, 2),  # the first route wins
        ({"domain": "Code"}, 1),
        ({"src": {"level": 2}}, 4),
        ({"src": {"level": "2"}}, 1),  # JSON equality: a string is not a number
        ({"src": {"level": True}}, 1),
        ({"src": 2}, 1),
        ({}, 1),
        (None, 1),
    ],
)
def test_a_prompt_goes_to_its_first_matching_route_else_the_default(meta, teacher):
    assert route_of(ROUTES, meta, 1) == teacher


def test_teacher_ids_lists_the_default_first_and_each_teacher_once():
    assert teacher_ids([*ROUTES, ROUTES[0]], 1) == [1, 2, 3, 4]
    assert teacher_ids([], 7) == [7]


@pytest.mark.parametrize(
    "match",
    [
        {},
        {"tag": "a", "field": "metadata.x", "equals": 1},
        {"field": "metadata.x"},
        {"field": "domain", "equals": "x"},
        {"field": "metadata.", "equals": "x"},
        {"tag": "a", "equals": "x"},
        {"tag": ""},
        {"tag": "a", "other": 1},
    ],
)
def test_a_bad_match_is_refused(match):
    with pytest.raises(ValidationError):
        RouteMatch.model_validate(match)


def test_a_stored_route_validates_again():
    for r in ROUTES:
        again = TeacherRoute.model_validate(r.model_dump(mode="json"))
        assert again == r
