"""The teacher logprob cache of a snapshot, read for the kd train method: teacher_logprobs.parquet in
the snapshot's folder, one row per trained example (generation_id, the teacher's token_ids of the
completion, per token the K top_ids and their top_logprobs) and its `distillery.*` key-value metadata
(k, tokenizer_hash, template_hash, teacher, source); the format is docs/stages/train.md's.

Read in two streamed passes over the Parquet batches, never the whole cache at once: `scan` reads only
generation_id and token_ids (what the pre-flight checks need: rows present, tokens the student's own),
and `write_rows` reads the top-K columns of the examples kept into an Arrow file that `datasets`
memory-maps, so the collator reads a batch at a time."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from backend.core.errors import Invalid

FILE = "teacher_logprobs.parquet"
BATCH_ROWS = 256  # Parquet rows read at a time: a few MB of top-K at K=20 and 1k-token completions
KD_COLUMNS = ("kd_pos", "kd_ids", "kd_logprobs")
# the share of a completion's teacher tokens that must align with the student's trained turn: a
# reply re-rendered with other whitespace (`</think>\n` generated, `</think>\n\n` trained) loses a
# token or two; below this it is another text, and its top-K would teach the wrong tokens
MIN_ALIGNED = 0.9


@dataclass
class TeacherView:
    """What the pre-flight checks see of the cache (positions are the snapshot's example order)."""

    snapshot_id: int
    path: Path
    present: bool
    student: str
    student_hash: str
    meta: dict[str, str] = field(default_factory=dict)
    k: int | None = None
    missing: list[int] = field(default_factory=list)  # examples without a row
    mismatched: dict[int, str] = field(default_factory=dict)  # example -> how its tokens differ
    # example -> (its teacher tokens, the aligned blocks (teacher index, trained-turn index, length))
    covered: dict[int, tuple[int, list[tuple[int, int, int]]]] = field(default_factory=dict)

    @property
    def teacher(self) -> str:
        return self.meta.get("teacher") or "the teacher"

    @property
    def same_vocab(self) -> bool:
        return self.present and self.meta.get("tokenizer_hash") == self.student_hash


def read_meta(path: Path) -> dict[str, str]:
    import pyarrow.parquet as pq

    raw = pq.read_schema(path).metadata or {}
    prefix = b"distillery."
    return {k[len(prefix) :].decode(): v.decode() for k, v in raw.items() if k.startswith(prefix)}


def _k_of(meta: dict[str, str]) -> int | None:
    try:
        k = int(meta.get("k", ""))
    except ValueError:
        return None
    return k if k >= 1 else None


def align(tokenizer, teacher: list[int], target: list[int]) -> tuple[list[tuple[int, int, int]], str | None]:
    """The blocks of the teacher's tokens that stand in the student's trained turn (teacher index,
    turn index, length), and why the row is refused (None when at least MIN_ALIGNED of the teacher's
    tokens align). The turn may go on with the template's end-of-turn text the teacher never
    generated, and the snapshot re-renders the reasoning's separators canonically, so a prefix is the
    common case and a sequence alignment the fallback (whitespace the teacher wrote otherwise)."""
    if not teacher:
        return [], "the teacher's completion has no tokens"
    n = len(teacher)
    if target[:n] == teacher:
        return [(0, 0, n)], None
    import difflib

    blocks = [
        (b.a, b.b, b.size)
        for b in difflib.SequenceMatcher(None, teacher, target, autojunk=False).get_matching_blocks()
        if b.size
    ]
    if sum(size for _, _, size in blocks) >= MIN_ALIGNED * n:
        return blocks, None
    diff = (j for j, (a, b) in enumerate(zip(teacher, target, strict=False)) if a != b)
    j = next(diff, min(n, len(target)))
    if j >= len(target):
        return [], f"the teacher has {n} tokens, the student's trained turn {len(target)}"
    a, b = tokenizer.convert_ids_to_tokens([teacher[j], target[j]])
    return [], f"token {j}: the teacher's {a!r}, the student's {b!r}"


def scan(
    snap_id: int, folder: Path, student: str, tokenizer, row_ids: list[int], targets: list[list[int]]
) -> TeacherView:
    """Pass one: which examples have a row and whether its tokens are the student's trained ones."""
    import pyarrow.parquet as pq

    from backend.training.vocab import vocab_hash

    path = folder / FILE
    view = TeacherView(snap_id, path, path.is_file(), student, vocab_hash(tokenizer))
    if not view.present:
        view.missing = list(range(len(row_ids)))
        return view
    view.meta = read_meta(path)
    view.k = _k_of(view.meta)
    position = {gid: i for i, gid in enumerate(row_ids)}
    seen: set[int] = set()
    for batch in pq.ParquetFile(path).iter_batches(BATCH_ROWS, columns=["generation_id", "token_ids"]):
        for gid, tokens in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True):
            i = position.get(gid)
            if i is None or i in seen:  # a row of an example not trained here, or a repeat: the first counts
                continue
            seen.add(i)
            if not view.same_vocab:  # other ids: comparing them says nothing (teacher_vocab refuses)
                continue
            blocks, why = align(tokenizer, tokens or [], targets[i])
            if why:
                view.mismatched[i] = why
            else:
                view.covered[i] = (len(tokens), blocks)
    view.missing = [i for i in range(len(row_ids)) if i not in seen]
    return view


def write_rows(view: TeacherView, examples: dict[int, dict], out: Path):
    """Pass two: the kept examples (generation_id -> input_ids, labels, turn: the trained turn's first
    position, n and blocks: its view.covered entry) with the top-K of their aligned teacher tokens and
    the positions those predict (kd_pos), into an Arrow file under `out`, memory-mapped as a
    datasets.Dataset."""
    import datasets
    import pyarrow.parquet as pq
    from datasets.arrow_writer import ArrowWriter

    features = datasets.Features(
        {
            "input_ids": datasets.Sequence(datasets.Value("int32")),
            "labels": datasets.Sequence(datasets.Value("int32")),
            "kd_pos": datasets.Sequence(datasets.Value("int32")),
            "kd_ids": datasets.Sequence(datasets.Sequence(datasets.Value("int32"))),
            "kd_logprobs": datasets.Sequence(datasets.Sequence(datasets.Value("float32"))),
        }
    )
    out.mkdir(parents=True, exist_ok=True)
    # one file per rank: on several GPUs every rank prepares its own copy at the same time
    path = out / f"kd-train-rank{os.environ.get('RANK', '0')}.arrow"
    todo = dict(examples)
    with ArrowWriter(features=features, path=str(path)) as writer:
        cols = ["generation_id", "top_ids", "top_logprobs"]
        for batch in pq.ParquetFile(view.path).iter_batches(BATCH_ROWS, columns=cols):
            gids, ids, lps = (batch.column(c).to_pylist() for c in cols)
            for gid, top, logp in zip(gids, ids, lps, strict=True):
                ex = todo.pop(gid, None)
                if ex is None:
                    continue
                _check_widths(view, gid, ex["n"], top, logp)
                pos: list[int] = []
                rows: list[int] = []
                for a, b, size in ex["blocks"]:
                    pos.extend(range(ex["turn"] + b, ex["turn"] + b + size))
                    rows.extend(range(a, a + size))
                writer.write(
                    {
                        "input_ids": ex["input_ids"],
                        "labels": ex["labels"],
                        "kd_pos": pos,
                        "kd_ids": [top[j] for j in rows],
                        "kd_logprobs": [logp[j] for j in rows],
                    }
                )
        writer.finalize()
    return datasets.Dataset.from_file(str(path))


def _check_widths(view: TeacherView, gid: int, n: int, top: list, logp: list) -> None:
    """A row must hold one list of K ids and K logprobs per teacher token, as the metadata says."""
    if (
        len(top) != n
        or len(logp) != n
        or any(len(a) != view.k or len(b) != view.k for a, b in zip(top, logp, strict=False))
    ):
        raise Invalid(
            f"snapshot {view.snapshot_id}'s {FILE}: generation {gid} does not carry {view.k} top ids and "
            f"logprobs for each of its {n} tokens (distillery.k is {view.k}); capture the cache again",
            code="teacher_logprobs",
        )
