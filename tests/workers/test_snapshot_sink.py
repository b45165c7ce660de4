"""The snapshot's file sink: the Parquet file, built from flat columns, holds exactly the JSONL rows."""

from __future__ import annotations

import orjson
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.pure  # no database, broker or worker


def test_parquet_rows_equal_the_jsonl_rows_across_batches(tmp_path, monkeypatch):
    from workers.stages import snapshot

    monkeypatch.setattr(snapshot, "BATCH", 3)  # several flushes and a partial last batch
    rows = []
    for i in range(8):
        prompt = [{"role": "system", "content": f"sys {i}"}] * (i % 2) + [
            {"role": "user", "content": f"q{i}"}
        ]
        turn = [{"role": "assistant", "content": f"<think>r{i}</think>a{i}" if i != 4 else ""}]
        meta = {"prompt_id": i, "reference": None if i == 5 else str(i), "teacher_id": 7 if i % 2 else None,
                "generation_id": 100 + i}  # fmt: skip
        rows.append(("messages", {"messages": prompt + turn, **meta}))
        rows.append(("prompt_completion", {"prompt": prompt, "completion": turn, **meta}))
        if i % 3 == 0:
            rows.append(("preference", {"prompt": prompt, "chosen": turn, "rejected": [], "prompt_id": i,
                                        "reference": str(i), "teacher_id": 7, "chosen_id": i,
                                        "rejected_id": -i}))  # fmt: skip
    sinks = {name: snapshot._Sink(tmp_path, name) for name in snapshot.SCHEMAS}
    for name, row in rows:
        sinks[name].add(row)
    for sink in sinks.values():
        sink.close()
    for name in snapshot.SCHEMAS:
        want = [row for n, row in rows if n == name]
        lines = (tmp_path / f"{name}.jsonl").read_bytes().splitlines()
        assert [orjson.loads(line) for line in lines] == want
        table = pq.read_table(tmp_path / f"{name}.parquet")
        assert table.schema == snapshot.SCHEMAS[name] and table.to_pylist() == want
        assert sinks[name].rows == len(want)
        # the teacher's texts plain (no dictionary, no statistics); every other column keeps both
        meta = pq.ParquetFile(tmp_path / f"{name}.parquet").metadata.row_group(0)
        for j in range(meta.num_columns):
            col = meta.column(j)
            long = col.path_in_schema in snapshot._LONG
            assert ("RLE_DICTIONARY" in col.encodings) is not long, col.path_in_schema
            assert col.is_stats_set is not long, col.path_in_schema
    assert {c.split(".")[0] for c in snapshot._LONG} == {"messages", "completion", "chosen", "rejected"}
