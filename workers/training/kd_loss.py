"""kd's loss and its trainer: TRL's SFTTrainer (its data collation, no packing, loss on the trained
turn only) with compute_loss replaced. TRL has no trainer that reads a teacher's top-K logprobs from a
file: its distillation trainers run the teacher (a local model, or a server queried each step), so the
loss is ours, over the cached top-K:

    loss = (1 - alpha) * CE + alpha * T^2 * KL(teacher || student)

per trained token, both summed over the trained tokens and divided by their count (SFT's own
normalisation, so alpha 0 is SFT's loss exactly). The KL compares K+1 buckets when `tail` is on: the
teacher's K ids, whose probabilities the cache holds, and the rest of the mass as one bucket (1 minus
their sum), on both sides. Restricted to the K ids and renormalised instead (`tail` off), the student
could put any mass outside them unpunished, and at K=1 the KL would be 0 whatever it does; the tail
bucket keeps the comparison a proper distribution (TRL's server distillation adds the same bucket).
The temperature softens both bucket distributions alike (the teacher's mass beyond its top K is only
known as one bucket, so the student is tempered at the same granularity), and T^2 keeps the gradients'
scale (Hinton et al.). Tokens past the cached ones (the template's end-of-turn the teacher never
generated) get the CE only."""

from __future__ import annotations

import torch
from trl import SFTTrainer
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from workers.training.kd_cache import KD_COLUMNS

FLOOR = -100.0  # a teacher logprob of -inf (a token it never picks) as ~0 probability, without NaNs


def _buckets(logp: torch.Tensor, tail: bool) -> torch.Tensor:
    if not tail:
        return logp  # renormalised by the caller's log_softmax
    # float16 logprobs may sum a hair above 1: the tail stays a (tiny) positive mass
    total = torch.logsumexp(logp, dim=-1, keepdim=True).clamp(max=-1e-6)
    return torch.cat([logp, torch.log(-torch.expm1(total))], dim=-1)


def bucket_kl(teacher: torch.Tensor, student: torch.Tensor, temperature: float, tail: bool) -> torch.Tensor:
    """KL(teacher || student) per token over the K (+1 tail) buckets; inputs are natural logprobs [N, K]."""
    t = torch.log_softmax(_buckets(teacher.clamp(min=FLOOR), tail) / temperature, dim=-1)
    s = torch.log_softmax(_buckets(student, tail) / temperature, dim=-1)
    return (t.exp() * (t - s)).sum(-1)


def kd_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    top_ids: torch.Tensor,
    top_logprobs: torch.Tensor,
    kd_mask: torch.Tensor,
    *,
    alpha: float,
    temperature: float,
    tail: bool,
    num_items: torch.Tensor | int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, mean CE, mean KL) of a batch. logits [B, T, V]; labels [B, T] (-100: no loss); the teacher's
    top_ids / top_logprobs [B, T, K] and kd_mask [B, T] are aligned with the token they predict, as labels
    are. `num_items`: the trained tokens of the whole accumulated batch (the Trainer's), else this one's."""
    labels = labels[:, 1:]
    trained = labels != -100
    logp = torch.log_softmax(logits[:, :-1][trained].float(), dim=-1)  # [N, V]: trained positions only
    ce_sum = -logp.gather(-1, labels[trained][:, None]).sum()
    student_k = logp.gather(-1, top_ids[:, 1:][trained].long())
    kl_tok = bucket_kl(top_logprobs[:, 1:][trained].float(), student_k, temperature, tail)
    kl_sum = torch.where(kd_mask[:, 1:][trained], kl_tok, torch.zeros_like(kl_tok)).sum()
    local = trained.sum().clamp(min=1)
    n = local if num_items is None else torch.as_tensor(num_items, device=logp.device).clamp(min=1)
    loss = ((1 - alpha) * ce_sum + alpha * temperature**2 * kl_sum) / n
    return loss, (ce_sum / local).detach(), (kl_sum / local).detach()


class KDCollator:
    """TRL's language-modelling collator for input_ids and labels, plus the teacher's top-K laid on the
    positions of the tokens they predict ([B, T, K]; kd_mask marks where there is one)."""

    def __init__(self, pad_token_id: int, k: int):
        self.base = DataCollatorForLanguageModeling(pad_token_id=pad_token_id)
        self.k = k

    def __call__(self, examples: list[dict]) -> dict:
        out = self.base([{"input_ids": e["input_ids"], "labels": e["labels"]} for e in examples])
        b, t = out["input_ids"].shape
        ids = torch.zeros(b, t, self.k, dtype=torch.long)
        logp = torch.zeros(b, t, self.k, dtype=torch.float32)
        mask = torch.zeros(b, t, dtype=torch.bool)
        for row, e in enumerate(examples):
            if len(e["kd_pos"]):
                pos = torch.as_tensor(e["kd_pos"], dtype=torch.long)
                ids[row, pos] = torch.as_tensor(e["kd_ids"], dtype=torch.long)
                logp[row, pos] = torch.as_tensor(e["kd_logprobs"], dtype=torch.float32)
                mask[row, pos] = True
        out.update(kd_ids=ids, kd_logprobs=logp, kd_mask=mask)
        return out


class KDTrainer(SFTTrainer):
    """SFTTrainer whose loss mixes its cross-entropy with the KL to the cached teacher (kd_loss)."""

    def __init__(self, *args, alpha: float, temperature: float, tail: bool, **kwargs):
        self.kd = {"alpha": alpha, "temperature": temperature, "tail": tail}
        super().__init__(*args, **kwargs)

    def _set_signature_columns_if_needed(self):
        super()._set_signature_columns_if_needed()
        self._signature_columns = [*self._signature_columns, *KD_COLUMNS]

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        mode = "train" if self.model.training else "eval"
        labels = inputs.pop("labels")
        teacher = [inputs.pop(k) for k in ("kd_ids", "kd_logprobs", "kd_mask")]
        outputs = model(**inputs, use_cache=False)
        loss, ce, kl = kd_loss(outputs.logits, labels, *teacher, **self.kd, num_items=num_items_in_batch)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes  # as SFTTrainer: DDP averages the gradients
        self._metrics[mode]["ce"].append(self.accelerator.gather_for_metrics(ce).mean().item())
        self._metrics[mode]["kl"].append(self.accelerator.gather_for_metrics(kl).mean().item())
        return (loss, outputs) if return_outputs else loss
