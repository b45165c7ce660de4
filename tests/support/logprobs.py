"""A snapshot's teacher logprob cache built the way the capture writes it (docs/stages/train.md's
format), so the kd tests need no rollout: the teacher model runs over each of the snapshot's
conversations with transformers, and its top-K at every completion token goes into
teacher_logprobs.parquet beside the snapshot's files, with the `distillery.*` metadata."""

from __future__ import annotations

from pathlib import Path

from tests.support.env import DATA_DIR


def snapshot_folder(snapshot_id: int) -> Path:
    from backend.core.db import session_scope
    from backend.datasets.models import DatasetSnapshot

    with session_scope() as s:
        snap = s.get_one(DatasetSnapshot, snapshot_id)
        return DATA_DIR / "snapshots" / str(snap.project_id) / snap.content_hash


def completion_ids(tokenizer, messages: list[dict]) -> tuple[list[int], list[int]]:
    """(prompt ids, the teacher's ids of the final turn as it would generate them): the render after the
    generation prompt, up to and with its last stop token (what follows, a template's newline, is never
    generated)."""
    prompt = tokenizer.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    assert full.startswith(prompt), "the teacher's template must render the prompt as a prefix"
    ids = tokenizer.encode(full[len(prompt) :], add_special_tokens=False)
    stops = {tokenizer.eos_token_id, *tokenizer.convert_tokens_to_ids(tokenizer.all_special_tokens)}
    last = max((j for j, t in enumerate(ids) if t in stops), default=len(ids) - 1)
    return tokenizer.encode(prompt, add_special_tokens=False), ids[: last + 1]


def write_teacher_cache(
    folder: Path,
    teacher: str,
    *,
    k: int = 4,
    source: str = "rollout",
    skip: set[int] = frozenset(),  # type: ignore[assignment]
    row_group_size: int = 4,
) -> Path:
    """teacher_logprobs.parquet in a snapshot folder from the teacher model at `teacher` (a folder);
    generation ids in `skip` get no row. Small row groups: the reader streams them."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from backend.training.vocab import template_hash, vocab_hash

    tok = AutoTokenizer.from_pretrained(teacher)
    model = AutoModelForCausalLM.from_pretrained(teacher).eval()
    table = pq.read_table(folder / "messages.parquet", columns=["generation_id", "messages"]).to_pylist()
    rows: dict[str, list] = {"generation_id": [], "token_ids": [], "top_ids": [], "top_logprobs": []}
    for row in table:
        if row["generation_id"] in skip:
            continue
        prompt, ids = completion_ids(tok, row["messages"])
        with torch.no_grad():
            logits = model(torch.tensor([prompt + ids])).logits[0, len(prompt) - 1 : -1]
        top = torch.log_softmax(logits.float(), -1).topk(k, dim=-1)
        rows["generation_id"].append(row["generation_id"])
        rows["token_ids"].append(ids)
        rows["top_ids"].append(top.indices.tolist())
        rows["top_logprobs"].append(top.values.tolist())
    schema = pa.schema(
        [
            ("generation_id", pa.int64()),
            ("token_ids", pa.list_(pa.int32())),
            ("top_ids", pa.list_(pa.list_(pa.int32()))),
            ("top_logprobs", pa.list_(pa.list_(pa.float16()))),
        ],
        metadata={
            "distillery.k": str(k),
            "distillery.tokenizer_hash": vocab_hash(tok),
            "distillery.template_hash": template_hash(tok),
            "distillery.teacher": teacher,
            "distillery.source": source,
        },
    )
    import numpy as np

    arrays = [
        pa.array(rows["generation_id"], pa.int64()),
        pa.array(rows["token_ids"], pa.list_(pa.int32())),
        pa.array(rows["top_ids"], pa.list_(pa.list_(pa.int32()))),
        pa.array(
            [[np.asarray(r, dtype=np.float16) for r in ex] for ex in rows["top_logprobs"]],
            pa.list_(pa.list_(pa.float16())),
        ),
    ]
    path = folder / "teacher_logprobs.parquet"
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema), path, row_group_size=row_group_size)
    return path
