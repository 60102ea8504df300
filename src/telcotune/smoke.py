"""`telcotune model`: resolve a spec, show what it is, optionally answer one message."""

from __future__ import annotations

import time

from rich.console import Console

from .models import load_model, load_tokenizer, resolve_model

console = Console()


def describe_model(spec: str, prompt: str | None = None, max_new_tokens: int = 64) -> str | None:
    started = time.perf_counter()
    folder = resolve_model(spec)
    model = load_model(folder)
    n_params = sum(p.numel() for p in model.parameters())
    console.print(f"model [bold]{spec}[/] -> {folder}")
    console.print(
        f"  {model.config.model_type}, {n_params / 1e6:.1f}M parameters, "
        f"{model.config.num_hidden_layers} layers; loaded in {time.perf_counter() - started:.1f} s"
    )
    if prompt is None:
        return None
    tokenizer = load_tokenizer(folder)
    answer = answer_once(model, tokenizer, prompt, max_new_tokens)
    console.print(f"[bold]customer:[/] {prompt}\n[bold]assistant:[/] {answer}")
    return answer


def answer_once(model, tokenizer, message: str, max_new_tokens: int) -> str:
    import torch

    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": message}],
        add_generation_prompt=True, return_tensors="pt", return_dict=True,
    )
    with torch.inference_mode():
        out = model.generate(
            **inputs, max_new_tokens=max_new_tokens, do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
    return tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True).strip()
