"""The teacher logprob cache's format (backend/datasets/logprobs.py): the Parquet types and metadata
the kd reader relies on, the snapshot's gathering of kept rows from a rollout's parts, and reading an
OpenAI-shaped logprobs answer (vLLM's token ids, or a provider's strings, which map to no id)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend.datasets.card import LOGPROBS_HEAD, with_logprobs
from backend.datasets.logprobs import (
    CacheMeta,
    TokenLogprobs,
    gather,
    iter_rows,
    read_meta,
    table,
    write_atomic,
)
from workers.stages.score import parse
from workers.teachers.openai_compat import token_logprobs

pytestmark = pytest.mark.pure
META = CacheMeta(k=2, tokenizer_hash="ab" * 32, template_hash="", teacher="tiny", source="rollout")


def _lp(first: int, n: int = 3) -> TokenLogprobs:
    return TokenLogprobs(
        [first + i for i in range(n)],
        [[first + i, 7, 9] for i in range(n)],  # three alternatives: cut to K=2
        [[-0.1 * (i + 1), -1.5, -3.0] for i in range(n)],
    )


def test_a_table_has_the_shared_types_and_metadata(tmp_path):
    path = tmp_path / "part.parquet"
    write_atomic(path, table([(5, _lp(100)), (6, _lp(200, 2))], META))
    schema = pq.read_schema(path)
    assert schema.field("generation_id").type == pa.int64()
    assert schema.field("token_ids").type == pa.list_(pa.int32())
    assert schema.field("top_ids").type == pa.list_(pa.list_(pa.int32()))
    assert schema.field("top_logprobs").type == pa.list_(pa.list_(pa.float16()))
    assert schema.metadata[b"distillery.k"] == b"2" and schema.metadata[b"distillery.source"] == b"rollout"
    assert read_meta(path) == META
    rows = list(iter_rows(path))
    assert [r["generation_id"] for r in rows] == [5, 6]
    assert rows[0]["top_ids"] == [[100, 7], [101, 7], [102, 7]]  # K alternatives a token, no more
    assert rows[0]["top_logprobs"][0] == pytest.approx([-0.1, -1.5], abs=1e-3)
    assert not list(tmp_path.glob(".*.tmp"))  # written whole, the temp renamed


def test_gather_keeps_the_kept_rows_once_across_parts(tmp_path):
    a, b = tmp_path / "part-1.parquet", tmp_path / "part-2.parquet"
    write_atomic(a, table([(1, _lp(10)), (2, _lp(20)), (3, _lp(30))], META))
    write_atomic(b, table([(3, _lp(30)), (4, _lp(40))], META))  # 3 again: a re-run chunk's part
    out = tmp_path / "teacher_logprobs.parquet"
    assert gather([a, b], {1, 3, 4}, out, META) == 3
    rows = list(iter_rows(out))
    assert sorted(r["generation_id"] for r in rows) == [1, 3, 4]
    assert {r["generation_id"]: r["token_ids"][0] for r in rows} == {1: 10, 3: 30, 4: 40}
    assert read_meta(out) == META


def test_openai_logprobs_with_token_ids_are_read_and_strings_are_not():
    step = {
        "token": "token_id:12",
        "logprob": -0.5,
        "top_logprobs": [{"token": "token_id:3", "logprob": -2.0}, {"token": "token_id:12", "logprob": -0.5}],
    }
    got = token_logprobs({"content": [step]})
    assert got is not None and got.token_ids == [12]
    assert got.top_ids == [[12, 3]] and got.top_logprobs == [[-0.5, -2.0]]  # sorted descending
    as_text = {"content": [{**step, "token": "hello", "top_logprobs": [{"token": "hello", "logprob": -0.5}]}]}
    assert token_logprobs(as_text) is None  # a provider's strings: no id without its tokenizer
    assert token_logprobs(None) is None and token_logprobs({"content": None}) is None


def test_prompt_logprobs_are_ranked_and_cut_to_k():
    positions = [{"5": {"logprob": -9.0, "rank": 40}, "1": {"logprob": -0.2, "rank": 1},
                  "2": {"logprob": -1.0, "rank": 2}}]  # fmt: skip
    got = parse(positions, [5], 2)
    assert got.token_ids == [5] and got.top_ids == [[1, 2]] and got.top_logprobs == [[-0.2, -1.0]]


def test_the_card_section_is_added_once_and_replaced():
    info = {**META.as_dict(), "rows": 3}
    card = with_logprobs("# x\n\nbody\n", info)
    assert LOGPROBS_HEAD in card and "top-2 per token for 3 rows" in card and "source rollout" in card
    again = with_logprobs(card, {**info, "source": "score", "rows": 4})
    assert again.count(LOGPROBS_HEAD) == 1 and "source score" in again and "source rollout" not in again
    assert with_logprobs("# x\n", None) == "# x\n"
