"""kd's training speed against plain SFT, on the same data in the same run.

The qwen2.5 stand-in (tests/standins.py: Qwen's real 151,643-rank vocabulary, the original template, a
tiny random Qwen2 model; --model DIR for another) trains on the same encoded conversations
(workers/training/encode.py) with the same batch, steps and seed, two ways:
  sft  TRL's SFTTrainer as the train stage builds it (workers/training/sft.py's config)
  kd   workers/training/kd_loss.KDTrainer: the same trainer with the teacher's top-K laid on the trained
       tokens (KDCollator) and the CE + KL loss (alpha 0.5, tail bucket), the top-K taken from the
       model itself before training (what they are does not change the cost)
Each round trains both, alternating which goes first; reported: optimizer steps/s of each (median and
range of the rounds) and kd / sft per round, and the same for the process's CPU seconds per step (all
threads; steadier than wall time on a shared host). The kd loss needs the full logits (TRL's fused LM head,
which SFT uses, never builds them), so the ratio is the cost of the teacher's signal.

    python bench/kd_train.py                       # CPU, 3 rounds of 10 steps
    python bench/kd_train.py --device cuda --steps 30 --batch 8
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORDS = "so the sum of the first n odd numbers is n squared because each step adds two and we check".split()


def conversations(n: int, words: int) -> list[list[dict]]:
    import random

    rng = random.Random(0)
    return [
        [
            {"role": "user", "content": f"What is {i} times {i + 1}?"},
            {
                "role": "assistant",
                "content": f"<think>\n{' '.join(rng.choices(WORDS, k=words))}\n</think>\n\n{i * (i + 1)}",
            },
        ]
        for i in range(n)
    ]


def data(model_dir: str, n: int, words: int, k: int):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from workers.training import encode
    from workers.training.sft import labels
    from workers.training.templates import setup

    tok = AutoTokenizer.from_pretrained(model_dir)
    convos = conversations(n, words)
    student = setup(tok, model_dir, None, convos)
    enc = encode.encode_sft(tok, student.template.text, convos, list(range(n)))
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    sft, kd = [], []
    for ids, mask in zip(enc.ids, enc.masks, strict=True):
        start = mask.index(1)
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0, start - 1 : -1]
        top = torch.log_softmax(logits.float(), -1).topk(k, dim=-1)
        row = {"input_ids": ids, "labels": labels(ids, mask)}
        sft.append(row)
        kd.append(
            {
                **row,
                "kd_pos": list(range(start, len(ids))),
                "kd_ids": top.indices.tolist(),
                "kd_logprobs": top.values.tolist(),
            }
        )
    return tok, student, sft, kd, max(len(x) for x in enc.ids)


def train_once(which: str, model_dir: str, tok, rows, max_length: int, args) -> tuple[float, float]:
    """(optimizer steps/s, process CPU seconds per step) of one training of `args.steps` steps, the first
    step (warm-up) not counted. CPU time, all threads together, moves less than wall time on a shared
    host."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from workers.training.kd_loss import KDCollator, KDTrainer

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    model.config.pad_token_id = tok.pad_token_id
    stamps: list[tuple[float, float]] = []

    class Clock(TrainerCallback):
        def on_step_end(self, a, state, control, **kw):
            stamps.append((time.perf_counter(), time.process_time()))

    config = SFTConfig(
        output_dir=tempfile.mkdtemp(prefix="distillery-kd-bench-"),
        max_steps=args.steps,
        per_device_train_batch_size=args.batch,
        learning_rate=1e-4,
        max_length=max_length,
        use_cpu=args.device == "cpu",
        bf16=args.device == "cuda",
        report_to="none",
        save_strategy="no",
        logging_steps=1,
        disable_tqdm=True,
        dataset_num_proc=None,
        seed=0,
        dataset_kwargs={"skip_prepare_dataset": True},
    )
    common = {
        "model": model,
        "args": config,
        "train_dataset": Dataset.from_list(rows),
        "processing_class": tok,
    }
    if which == "kd":
        trainer = KDTrainer(
            **common,
            data_collator=KDCollator(tok.pad_token_id, args.k),
            alpha=0.5,
            temperature=1.0,
            tail=True,
        )
    else:
        trainer = SFTTrainer(**common)
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # a dict per step on stdout otherwise
    trainer.add_callback(Clock())
    trainer.train()
    steps = len(stamps) - 1
    return steps / (stamps[-1][0] - stamps[0][0]), (stamps[-1][1] - stamps[0][1]) / steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="a causal LM folder with its tokenizer; default: the qwen2.5 stand-in")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--rows", type=int, default=64)
    p.add_argument("--words", type=int, default=60, help="reasoning words per trace")
    p.add_argument("-k", type=int, default=20, help="the teacher's top-K")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if not args.model:
        sys.path.insert(0, str(ROOT))
        from tests.standins import build

        args.model = str(build("qwen2.5"))
    tok, _, sft_rows, kd_rows, longest = data(args.model, args.rows, args.words, args.k)
    max_length = -(-longest // 8) * 8
    got: dict[str, list[float]] = {"sft": [], "kd": []}
    cpu: dict[str, list[float]] = {"sft": [], "kd": []}
    for r in range(args.rounds):
        for which in ("sft", "kd") if r % 2 == 0 else ("kd", "sft"):
            rows = sft_rows if which == "sft" else kd_rows
            rate, cpu_s = train_once(which, args.model, tok, rows, max_length, args)
            got[which].append(rate)
            cpu[which].append(cpu_s)
    ratios = [k / s for k, s in zip(got["kd"], got["sft"], strict=True)]
    cpu_ratios = [k / s for k, s in zip(cpu["kd"], cpu["sft"], strict=True)]
    out = {
        "device": args.device,
        "steps": args.steps,
        "batch": args.batch,
        "k": args.k,
        "max_length": max_length,
        **{f"{w}_steps_per_s": statistics.median(v) for w, v in got.items()},
        **{f"{w}_range": [min(v), max(v)] for w, v in got.items()},
        "kd_over_sft": statistics.median(ratios),
        "ratio_range": [min(ratios), max(ratios)],
        **{f"{w}_cpu_s_per_step": statistics.median(v) for w, v in cpu.items()},
        "kd_cpu_over_sft": statistics.median(cpu_ratios),
        "cpu_ratio_range": [min(cpu_ratios), max(cpu_ratios)],
    }
    print(json.dumps(out) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items()))


if __name__ == "__main__":
    main()
