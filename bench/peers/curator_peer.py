"""The peer for bench/rollout_overhead.py, run inside bench/.venv-curator: bespokelabs-curator's online
OpenAI backend sends the same prompts to the same fake server and stores its dataset. Prints one JSON
line: {"seconds", "stored", "version"}.

    python bench/peers/curator_peer.py BASE_URL N CONCURRENCY WORKING_DIR
"""

import json
import sys
import time
from importlib.metadata import version

import tiktoken
from bespokelabs import curator

# Curator counts tokens with tiktoken's cl100k_base, whose rank file is downloaded on first use; this
# machine cannot reach it. A local stand-in with the same regex and tiktoken's same Rust encoder
# (byte tokens plus every pair of letters and spaces) keeps the peer's token counting work realistic.
_LETTERS = [bytes([c]) for c in b" abcdefghijklmnopqrstuvwxyz"]
_RANKS = {bytes([i]): i for i in range(256)}
for _a in _LETTERS:
    for _b in _LETTERS:
        _RANKS.setdefault(_a + _b, len(_RANKS))
_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|"""
    r"""\s+(?!\S)|\s+"""
)
_LOCAL_CL100K = tiktoken.Encoding(
    "cl100k_base_local", pat_str=_PAT, mergeable_ranks=_RANKS, special_tokens={"<|endoftext|>": 100257}
)
tiktoken.get_encoding = lambda name: _LOCAL_CL100K
tiktoken.encoding_for_model = lambda model: _LOCAL_CL100K


def prompts(n: int) -> list[str]:  # the same text as bench/rollout_overhead.py sends
    return [
        f"Problem {i}: a train leaves at {i % 12} o'clock at {40 + i % 50} km/h. When does it arrive?"
        for i in range(n)
    ]


class Teacher(curator.LLM):
    def prompt(self, row):
        return row["prompt"]

    def parse(self, row, response):
        return {"prompt": row["prompt"], "response": response}


def main() -> None:
    base, n, concurrency, workdir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    llm = Teacher(
        model_name="gpt-4o-mini",  # the fake server answers any name; litellm knows this one
        backend="openai",
        backend_params={
            "base_url": f"{base}/v1",
            "api_key": "sk-fake",
            "max_requests_per_minute": 10_000_000,
            "max_tokens_per_minute": 10_000_000_000,
            "max_concurrent_requests": concurrency,
            "max_retries": 1,
            "require_all_responses": False,
            "in_mtok_cost": 0,
            "out_mtok_cost": 0,
        },
    )
    rows = [{"prompt": p} for p in prompts(n)]
    t0 = time.perf_counter()
    out = llm(rows, working_dir=workdir)
    seconds = time.perf_counter() - t0
    ds = out.dataset if hasattr(out, "dataset") else out
    print(json.dumps({"seconds": seconds, "stored": len(ds), "version": version("bespokelabs-curator")}))


if __name__ == "__main__":
    main()
