"""telcotune: fine-tune a small language model into a telecom support assistant, and prove which
LoRA configuration is really best (validation loss, LLM judges, energy)."""

__version__ = "0.1.0"
