"""kd's loss (workers/training/kd_loss.py): alpha 0 is the plain SFT loss of TRL's own SFTTrainer on the
same batch, a teacher whose top-K is the student's own distribution costs no KL, and a different one
does, with a gradient towards it."""

from __future__ import annotations

import pytest
import torch

from tests.support.models import tiny_student
from workers.training.kd_loss import KDCollator, KDTrainer, bucket_kl, kd_loss

pytestmark = pytest.mark.pure  # no database, broker or worker


def _batch(seed: int = 0, b: int = 3, t: int = 12, v: int = 50, k: int = 4):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, t, v, generator=g) * 3
    labels = torch.randint(0, v, (b, t), generator=g)
    labels[:, :4] = -100  # the prompt
    labels[1, 9:] = -100  # padding
    mask = labels != -100
    return logits, labels, mask, k


def _own_top_k(logits: torch.Tensor, k: int):
    """The student's own top-K, laid where kd_loss expects the teacher's: on the token they predict."""
    top = torch.log_softmax(logits, -1).topk(k, dim=-1)
    ids = torch.zeros(*logits.shape[:2], k, dtype=torch.long)
    lps = torch.zeros(*logits.shape[:2], k)
    ids[:, 1:], lps[:, 1:] = top.indices[:, :-1], top.values[:, :-1]
    return ids, lps


def test_alpha_zero_is_the_cross_entropy():
    logits, labels, mask, k = _batch()
    ids, lps = _own_top_k(torch.randn_like(logits), k)  # any teacher: it has no weight
    loss, ce, _ = kd_loss(logits, labels, ids, lps, mask, alpha=0.0, temperature=2.0, tail=True)
    want = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, 50), labels[:, 1:].reshape(-1))
    assert torch.allclose(loss, want, atol=1e-6) and torch.allclose(ce, want, atol=1e-6)


@pytest.mark.parametrize(("tail", "temperature"), [(True, 1.0), (True, 2.5), (False, 1.0), (False, 0.5)])
def test_alpha_one_with_the_students_own_distribution_costs_no_kl(tail, temperature):
    logits, labels, mask, k = _batch(1)
    ids, lps = _own_top_k(logits, k)
    lps = lps.half().float()  # the cache stores float16
    loss, _, kl = kd_loss(logits, labels, ids, lps, mask, alpha=1.0, temperature=temperature, tail=tail)
    assert abs(kl.item()) < 2e-3 and abs(loss.item()) < 2e-3 * temperature**2


def test_another_teacher_costs_kl_and_the_gradient_moves_towards_it():
    logits, labels, mask, k = _batch(2)
    ids, lps = _own_top_k(torch.randn_like(logits) * 3, k)
    logits.requires_grad_(True)
    loss, _, kl = kd_loss(logits, labels, ids, lps, mask, alpha=1.0, temperature=1.0, tail=True)
    assert kl.item() > 0.1
    loss.backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    with torch.no_grad():
        _, _, after = kd_loss(
            logits - 0.5 * logits.grad, labels, ids, lps, mask, alpha=1, temperature=1, tail=True
        )
    assert after < kl


def test_a_top_1_teacher_still_teaches_through_the_tail():
    """Renormalised over one id, every student matches the teacher; the tail bucket tells them apart."""
    teacher = torch.tensor([[-0.1]])  # p = 0.90
    student = torch.tensor([[-2.3]])  # p = 0.10
    assert bucket_kl(teacher, student, 1.0, tail=False).item() == pytest.approx(0.0, abs=1e-7)
    assert bucket_kl(teacher, student, 1.0, tail=True).item() > 1.0


def test_alpha_zero_equals_trls_sft_loss_on_the_same_batch(tmp_path):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    path = tiny_student()
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    rows = []
    for i in range(4):
        ids = tok.encode(f"<|user|>\nwhat is {i}<|end|>\n<|assistant|>\nthe number {i} then half<|end|>\n")
        start = ids.index(tok.convert_tokens_to_ids("<|assistant|>")) + 2
        labels = [-100] * start + ids[start:]
        top = [[t] * 2 for t in ids[start:]]
        rows.append(
            {
                "input_ids": ids,
                "labels": labels,
                "kd_pos": list(range(start, start + len(top))),
                "kd_ids": top,
                "kd_logprobs": [[-1.0, -2.0]] * len(top),
            }
        )
    args = SFTConfig(output_dir=str(tmp_path), use_cpu=True, report_to="none", per_device_train_batch_size=4)
    ds = Dataset.from_list(rows)
    batch = KDCollator(tok.pad_token_id, k=2)(rows)
    sft = SFTTrainer(
        model=model, args=args, train_dataset=ds.select_columns(["input_ids", "labels"]), processing_class=tok
    )
    kd = KDTrainer(
        model=model,
        args=args,
        train_dataset=ds,
        processing_class=tok,
        data_collator=KDCollator(tok.pad_token_id, k=2),
        alpha=0.0,
        temperature=1.0,
        tail=True,
    )
    plain = {k: batch[k] for k in ("input_ids", "labels", "attention_mask")}
    with torch.no_grad():
        want = sft.compute_loss(model, dict(plain))
        got = kd.compute_loss(model, dict(batch))
        kd.kd["alpha"] = 0.5
        mixed = kd.compute_loss(model, dict(batch))
    assert want.item() > 0 and got.item() == pytest.approx(want.item(), rel=1e-5)
    assert mixed.item() != pytest.approx(want.item(), rel=1e-3)  # the teacher's half weighs
    logged = kd._metrics["train" if model.training else "eval"]  # from_pretrained leaves it in eval
    assert logged["kl"][-1] > 0 and logged["ce"][-1] == pytest.approx(want.item(), rel=1e-5)
