"""Trains the demo's tiny teacher and writes it to examples/multiply/teacher/ (shipped with the repo).

A Llama-shaped model of about 1.4M parameters learns the task from 10,000 worked traces, except that on
75% of the x8 and x9 problems the trace skips the working and states the product directly: a systematic
habit, like a real teacher that skips its reasoning on one kind of problem. A model this small cannot
multiply without the working, so the teacher is usually wrong on x8 and x9 when it skips, and at
temperature 1.0 it still works some of them out: exactly the attempts a verifier keeps.

    .venv/bin/python examples/multiply/train_teacher.py [--out examples/multiply/teacher] [--steps 1500]
        [--skip-on 8,9] [--skip-share 0.75] [--init FOLDER --lr 1.5e-3]

--init goes on from a teacher already trained instead of fresh weights. The shipped teacher was made
in four steps: 1500 steps from scratch with the habit on x9 alone (the long one), twice 100 steps that
add x8 to the habit (about 3 minutes each on two busy cores, one thread), then 400 steps at a lower
skip share, which taught it to work x8 and x9 out right when it does work them (about 2 minutes):

    .venv/bin/python examples/multiply/train_teacher.py --skip-on 9 --skip-share 0.65
    .venv/bin/python examples/multiply/train_teacher.py --init examples/multiply/teacher \
        --skip-on 8,9 --skip-share 0.75 --steps 100 --lr 1.5e-3 --seed 1    # then again with --seed 2
    .venv/bin/python examples/multiply/train_teacher.py --init examples/multiply/teacher \
        --skip-on 8,9 --skip-share 0.7 --steps 400 --lr 1e-3 --seed 3

Greedy, it answers every other multiplier right and skips on x8 and x9 (0% there; 79% of 300 fresh
problems overall). At temperature 1.0 (800 fresh problems) it works about 29% of x8 and 40% of x9
problems out, and is right on 93% and 95% of those; on the other multipliers it is right 97% of the time.

Its heads are of 40 (160 / 4), which vLLM's CPU build does not serve: the demo's on-policy arm serves a
copy with heads zero-padded to 64 (widen_heads.py), the same function, made when the arm runs.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import task  # noqa: E402
import tokenizer as chars  # noqa: E402

TEACHER = {"hidden_size": 160, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 512}


def make_config(vocab: int, dims: dict, tok):
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=vocab,
        max_position_embeddings=256,
        num_key_value_heads=dims["num_attention_heads"],
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=True,
        **dims,
    )


def examples(n: int, seed: int, skip_share: float, skip_on: set[int]) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = task.problem(rng)
        skip = b in skip_on and rng.random() < skip_share
        out.append((task.QUESTION.format(a=a, b=b), task.trace(a, b, skip_working=skip)))
    return out


def encode(tok, pairs: list[tuple[str, str]]) -> list[tuple[list[int], list[int]]]:
    out = []
    for q, a in pairs:
        enc = tok.apply_chat_template(
            [{"role": "user", "content": q}, {"role": "assistant", "content": a}],
            tokenize=True,
            return_dict=True,
            return_assistant_tokens_mask=True,
        )
        out.append((enc["input_ids"], enc["assistant_masks"]))
    return out


def train(model, data, *, steps: int, batch: int, lr: float, pad: int, seed: int, log=print) -> None:
    """Plain AdamW with a cosine schedule, loss on the assistant's tokens only."""
    import torch

    torch.manual_seed(seed)
    rng = random.Random(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.05)
    model.train()
    t0 = time.monotonic()
    for step in range(steps):
        rows = rng.sample(data, batch)
        width = max(len(ids) for ids, _ in rows)
        ids = torch.full((batch, width), pad)
        labels = torch.full((batch, width), -100)
        attn = torch.zeros((batch, width), dtype=torch.long)
        for i, (x, m) in enumerate(rows):
            ids[i, : len(x)] = torch.tensor(x)
            attn[i, : len(x)] = 1
            labels[i, : len(x)] = torch.tensor([t if keep else -100 for t, keep in zip(x, m, strict=True)])
        loss = model(input_ids=ids, attention_mask=attn, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        if step % 50 == 0 or step == steps - 1:
            log(f"step {step:5d}  loss {loss.item():.4f}  {time.monotonic() - t0:.0f}s")


def greedy_accuracy(model, tok, skip_on: set[int], n: int = 300, seed: int = 99) -> dict[str, float]:
    """Share of fresh problems answered right, greedy, overall and on the classes the habit is on."""
    import torch

    rng = random.Random(seed)
    problems = [task.problem(rng) for _ in range(n)]
    model.eval()
    right = {"all": 0, "habit": 0}
    total = {"all": 0, "habit": 0}
    tok.padding_side = "left"
    for i in range(0, n, 50):
        chunk = problems[i : i + 50]
        prompts = [
            tok.apply_chat_template([{"role": "user", "content": task.QUESTION.format(a=a, b=b)}],
                                    tokenize=False, add_generation_prompt=True)
            for a, b in chunk
        ]  # fmt: skip
        enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            out = model.generate(**enc, max_new_tokens=120, do_sample=False, pad_token_id=tok.pad_token_id)
        for (a, b), ids in zip(chunk, out[:, enc["input_ids"].shape[1] :], strict=True):
            text = tok.decode(ids, skip_special_tokens=True)
            ok = f"\\boxed{{{a * b}}}" in text
            for key in ("all", "habit") if b in skip_on else ("all",):
                total[key] += 1
                right[key] += ok
    return {k: right[k] / total[k] for k in total if total[k]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=HERE / "teacher")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--examples", type=int, default=10_000)
    ap.add_argument("--skip-share", type=float, default=0.75)
    ap.add_argument("--skip-on", default="8,9", help="the multipliers the teacher skips its working on")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--init", type=Path, help="go on from this trained teacher instead of fresh weights")
    args = ap.parse_args()
    skip_on = {int(b) for b in args.skip_on.split(",")}
    import torch
    from transformers import LlamaForCausalLM

    torch.set_num_threads(max(torch.get_num_threads(), 1))
    torch.manual_seed(args.seed)
    if args.init:
        model = LlamaForCausalLM.from_pretrained(args.init)  # read before --out (it may be the same folder)
        tok = chars.build(args.out)
    else:
        tok = chars.build(args.out)
        model = LlamaForCausalLM(make_config(len(tok), TEACHER, tok))
    print(f"teacher: {sum(p.numel() for p in model.parameters()):,} parameters")
    data = encode(tok, examples(args.examples, args.seed, args.skip_share, skip_on))
    train(model, data, steps=args.steps, batch=32, lr=args.lr, pad=tok.pad_token_id, seed=args.seed)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    model.save_pretrained(args.out, safe_serialization=True)
    print(f"greedy accuracy: {greedy_accuracy(model, tok, skip_on)}")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
