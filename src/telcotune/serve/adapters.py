"""One base model in memory with every served adapter loaded beside it.

LoRA weights are small next to the base (a few MB for a 135M model), so all of them are loaded
once at start-up and a request only switches which one is active (`set_adapter`, or
`disable_adapter` for the base). That switch changes the shared model, so `use()` holds a lock
for the whole generation: requests run one at a time on the model.

Unlike `evaluate.answers.AdapterSwapper`, which visits adapters once each in order and keeps one
in memory, requests here jump between adapters and back to the base at any time.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..evaluate.answers import BASE_RUN
from ..models import load_model, peft_adapter_name
from .errors import UnknownModel


class AdapterBank:
    def __init__(self, model_dir: Path, adapters: dict[str, Path], *, dtype: Any = None,
                 trust_remote_code: bool = False):
        if BASE_RUN in adapters:
            raise ConfigError(f"adapter name {BASE_RUN!r} is reserved for the model without an adapter")
        self.model: Any = load_model(model_dir, dtype=dtype, trust_remote_code=trust_remote_code)
        self.model = _with_adapters(self.model, adapters)
        self.model.eval()
        self.names: list[str] = [*adapters, BASE_RUN]
        self._lock = threading.Lock()

    @property
    def has_adapters(self) -> bool:
        return len(self.names) > 1

    @contextlib.contextmanager
    def use(self, name: str) -> Iterator[Any]:
        """The model answering as `name`, held exclusively until the block ends."""
        if name not in self.names:
            raise UnknownModel(f"model {name!r} is not served; available: {', '.join(self.names)}", param="model")
        with self._lock:
            if name != BASE_RUN:
                self.model.set_adapter(peft_adapter_name(name), inference_mode=True)
                yield self.model
            elif self.has_adapters:
                with self.model.disable_adapter():
                    yield self.model
            else:
                yield self.model


def _with_adapters(base: Any, adapters: dict[str, Path]) -> Any:
    from peft import PeftModel

    model = base
    for name, folder in adapters.items():
        if not (Path(folder) / "adapter_config.json").is_file():
            raise ConfigError(f"{folder}: no adapter_config.json; expected a PEFT adapter folder")
        if model is base:
            model = PeftModel.from_pretrained(base, str(folder), adapter_name=peft_adapter_name(name))
        else:
            model.load_adapter(str(folder), adapter_name=peft_adapter_name(name))
    return model
