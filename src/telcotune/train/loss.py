"""The training loss: summed cross-entropy over a batch's assistant tokens.

Fast path (model types whose logits are exactly `lm_head(last_hidden_state)`, a frozen head):
the decoder runs, the hidden states of the target positions are gathered, and `HeadCrossEntropy`
applies the LM head and the cross-entropy in chunks of rows, computing the gradient with
respect to the hidden states during the forward pass (softmax - one-hot, times the head). The
[targets x vocabulary] logits (49k columns for SmolLM2: hundreds of MB per micro-batch) are
never stored, only one chunk at a time, and no separate log-softmax backward pass runs. Other
models go through their own forward and `F.cross_entropy`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .precision import autocast

FAST_HEAD_TYPES = frozenset({"llama", "mistral", "qwen2", "qwen3", "smollm3", "phi3", "olmo2"})
"""Model types whose logits are exactly `lm_head(last_hidden_state)` (no soft-capping or
scaling), so the head can be applied to the target positions only."""
CHUNK_BYTES = 16 << 20
"""Size of one chunk of fp32 logits (rows x vocabulary x 4 bytes)."""


class HeadCrossEntropy(torch.autograd.Function):
    """sum_i CE(hidden_i @ weight.T, labels_i) for a frozen `weight` [vocab, hidden].

    The matmuls run in `weight.dtype` (pass a bf16 copy for bf16), the softmax in fp32."""

    @staticmethod
    def forward(ctx, hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, chunk: int):
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        grad = torch.empty_like(hidden) if hidden.requires_grad else None
        with torch.autocast(device_type=hidden.device.type, enabled=False):
            for s in range(0, hidden.shape[0], chunk):
                y = labels[s:s + chunk]
                logits = (hidden[s:s + chunk].to(weight.dtype) @ weight.T).float()
                lse = torch.logsumexp(logits, dim=-1)
                total += (lse - logits.gather(1, y[:, None]).squeeze(1)).sum()
                if grad is not None:
                    probs = logits.sub_(lse[:, None]).exp_()
                    probs[torch.arange(len(y), device=y.device), y] -= 1.0
                    grad[s:s + chunk] = (probs.to(weight.dtype) @ weight).to(hidden.dtype)
        ctx.save_for_backward(grad)
        return total

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (grad,) = ctx.saved_tensors
        return grad * grad_output, None, None, None


class LossFn:
    """Summed cross-entropy over a batch's target tokens (the caller divides by the count)."""

    def __init__(self, model, device: torch.device, precision: str):
        self.model, self.device, self.precision = model, device, precision
        base = model.get_base_model() if hasattr(model, "get_base_model") else model  # a LoRA or the bare model
        self.fast = False
        if getattr(base.config, "model_type", None) in FAST_HEAD_TYPES:
            self.decoder = base.get_decoder()
            self.head = base.get_output_embeddings()
            self.fast = (self.decoder is not None and isinstance(self.head, torch.nn.Linear)
                         and self.head.bias is None and not self.head.weight.requires_grad)
        self._weight: tuple[int, torch.Tensor] | None = None

    def _head_weight(self) -> torch.Tensor:
        """The frozen head weight in the compute dtype (cast once, not every micro-batch)."""
        w = self.head.weight
        if self.precision != "bf16":
            return w
        key = w._version
        if self._weight is None or self._weight[0] != key:
            self._weight = (key, w.detach().to(torch.bfloat16))
        return self._weight[1]

    def __call__(self, input_ids: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        ids = input_ids.to(self.device, non_blocking=True)
        tg = targets.to(self.device, non_blocking=True)
        labels = ids[:, 1:][tg]
        with autocast(self.precision, self.device):
            if self.fast:
                hidden = self.decoder(input_ids=ids, use_cache=False).last_hidden_state[:, :-1][tg]
            else:
                logits = self.model(input_ids=ids, use_cache=False).logits[:, :-1][tg]
        if not self.fast:
            return F.cross_entropy(logits.float(), labels, reduction="sum")
        weight = self._head_weight()
        return HeadCrossEntropy.apply(hidden, weight, labels, _chunk_rows(weight))

    def per_example(self, input_ids: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Summed cross-entropy of each row's target tokens, float64 [B] (no gradient): the same
        targets and arithmetic as `__call__`, kept per conversation so that two models can be
        compared example by example (validation, the base model's reference)."""
        ids = input_ids.to(self.device, non_blocking=True)
        tg = targets.to(self.device, non_blocking=True)
        labels = ids[:, 1:][tg]
        rows = tg.nonzero()[:, 0]
        with torch.no_grad(), autocast(self.precision, self.device):
            if self.fast:
                hidden = self.decoder(input_ids=ids, use_cache=False).last_hidden_state[:, :-1][tg]
            else:
                logits = self.model(input_ids=ids, use_cache=False).logits[:, :-1][tg]
        with torch.no_grad():
            if self.fast:
                token_loss = _token_losses(hidden, self._head_weight(), labels)
            else:
                token_loss = F.cross_entropy(logits.float(), labels, reduction="none")
            out = torch.zeros(ids.shape[0], dtype=torch.float64, device=ids.device)
            return out.index_add_(0, rows, token_loss.double()).cpu()


def _chunk_rows(weight: torch.Tensor) -> int:
    return max(1, CHUNK_BYTES // (4 * weight.shape[0]))


def _token_losses(hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-token cross-entropy of `hidden @ weight.T` in chunks of rows (as HeadCrossEntropy)."""
    chunk = _chunk_rows(weight)
    out = torch.empty(hidden.shape[0], dtype=torch.float32, device=hidden.device)
    with torch.autocast(device_type=hidden.device.type, enabled=False):
        for s in range(0, hidden.shape[0], chunk):
            logits = (hidden[s:s + chunk].to(weight.dtype) @ weight.T).float()
            out[s:s + chunk] = torch.logsumexp(logits, dim=-1) - logits.gather(1, labels[s:s + chunk, None]).squeeze(1)
    return out
