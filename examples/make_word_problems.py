"""Writes examples/prompts/word_problems.jsonl: small GSM8K-style problems with checkable answers.

The file is committed; this script documents how it was made and can regenerate it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

NAMES = ["Ava", "Ben", "Chloe", "Dev", "Elif", "Farid", "Grace", "Hiro", "Ines", "Jamal", "Kira", "Luca"]
ITEMS = ["apples", "marbles", "stickers", "books", "pencils", "cookies", "stamps", "shells"]


def problem(rng: random.Random) -> dict:
    name, other = rng.sample(NAMES, 2)
    item = rng.choice(ITEMS)
    a, b, c = rng.randint(3, 60), rng.randint(2, 30), rng.randint(2, 9)
    kind = rng.randrange(4)
    if kind == 0:
        q = f"{name} has {a} {item}. {other} gives {name} {b} more. How many {item} does {name} have now?"
        ans, why = a + b, f"{a} + {b} = {a + b}"
    elif kind == 1:
        a = a + b
        q = f"{name} had {a} {item} and gave {b} of them to {other}. How many {item} are left?"
        ans, why = a - b, f"{a} - {b} = {a - b}"
    elif kind == 2:
        q = f"{name} buys {c} boxes with {b} {item} in each box. How many {item} is that in total?"
        ans, why = b * c, f"{c} * {b} = {b * c}"
    else:
        total = b * c
        q = f"{name} shares {total} {item} equally among {c} friends. How many {item} does each friend get?"
        ans, why = b, f"{total} / {c} = {b}"
    return {"question": q, "answer": f"{why}\n#### {ans}", "source": "synthetic-arithmetic"}


def main() -> None:
    rng = random.Random(20261128)
    out = Path(__file__).parent / "prompts" / "word_problems.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    with out.open("w") as fh:
        while len(seen) < 200:
            row = problem(rng)
            # Two problems that differ only in a name are near duplicates; the import would drop one.
            shape = " ".join(w for w in row["question"].split() if w.rstrip(".") not in NAMES)
            if shape not in seen:
                seen.add(shape)
                fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
