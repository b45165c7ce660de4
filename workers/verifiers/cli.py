"""`distillery verify FILE.jsonl --verifier math [--settings JSON]`: the same verify_many as the
filter stage, over a file; verdicts as JSON Lines on stdout, a summary on stderr."""

from __future__ import annotations

import json
import math
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from backend.verifiers.registry import VerifierCombo

CHUNK = 4096


def _combo(verifiers: list[str], settings: str | None, mode: str) -> VerifierCombo:
    parsed: Any = json.loads(settings) if settings else {}
    if isinstance(parsed, dict):
        parsed = [parsed] + [{}] * (len(verifiers) - 1)
    if not isinstance(parsed, list) or len(parsed) != len(verifiers):
        raise ValueError("--settings is one JSON object, or a list with one object per --verifier")
    return VerifierCombo.model_validate(
        {
            "mode": mode,
            "verifiers": [{"name": n, "settings": s} for n, s in zip(verifiers, parsed, strict=True)],
        }
    )


def _number(literal: str) -> int | float | str:
    """A JSON number as Python reads it, or its literal text where Python cannot hold it exactly: past
    the int-string limit (int() raises) or a double's range (float() says inf). A reference is text
    to the verifiers either way, so the line gets its verdict instead of failing the file."""
    if len(literal) > 4000:
        return literal
    if "." in literal or "e" in literal or "E" in literal:
        value = float(literal)
        return value if math.isfinite(value) else literal
    return int(literal)


def _chunks(path: Path):
    chunk: list[dict] = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line, parse_int=_number, parse_float=_number)
            except (ValueError, RecursionError) as exc:
                raise ValueError(f"line {lineno}: not JSON ({exc})") from None
            if not isinstance(row, dict) or not isinstance(row.get("completion"), str):
                raise ValueError(f'line {lineno}: needs an object with a string "completion"')
            chunk.append(row)
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def run_verify(path: Path, verifiers: list[str], settings: str | None, mode: str, *, console) -> int:
    from workers.verifiers.pool import close_shared_pool
    from workers.verifiers.sandbox import SandboxUnavailable
    from workers.verifiers.verify import verify_many

    try:
        combo = _combo(verifiers, settings, mode)
    except ValidationError as exc:
        for e in exc.errors():
            console.print(f"[red]{'.'.join(map(str, e['loc']))}: {e['msg']}[/red]")
        return 2
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    counts: Counter[str] = Counter()
    started = time.perf_counter()
    try:
        for chunk in _chunks(path):
            for v in verify_many(combo, chunk):
                counts[v.status] += 1
                sys.stdout.write(json.dumps(v.to_dict(), ensure_ascii=False) + "\n")
            sys.stdout.flush()
    except (ValueError, SandboxUnavailable) as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    finally:
        close_shared_pool()
    total = sum(counts.values())
    rate = counts["passed"] / total if total else 0.0
    parts = ", ".join(f"{n:,} {s}" for s, n in counts.most_common())
    console.print(
        f"{total:,} verdicts in {time.perf_counter() - started:.1f}s: {parts or 'none'}; pass rate {rate:.1%}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m workers.verifiers.cli FILE --verifier NAME ...`, which `distillery verify` runs."""
    import argparse

    from rich.console import Console

    p = argparse.ArgumentParser(prog="distillery verify", description=__doc__)
    p.add_argument("file", type=Path)
    p.add_argument("--verifier", action="append", required=True)
    p.add_argument("--settings", default=None)
    p.add_argument("--mode", default="all", choices=["all", "any"])
    args = p.parse_args(argv)
    if not args.file.is_file():
        p.error(f"{args.file}: no such file")
    return run_verify(args.file, args.verifier, args.settings, args.mode, console=Console(stderr=True))


if __name__ == "__main__":
    raise SystemExit(main())
