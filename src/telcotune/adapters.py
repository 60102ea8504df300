"""One base model in memory with LoRA adapters loaded on it by run name.

LoRA weights are small next to the base (a few MB for a 135M model), so any number can sit on
one base: `use(name)` makes the shared model answer as that adapter (`set_adapter`) or, for
`BASE_RUN`, as the plain base model (`disable_adapter`). Evaluation loads, uses and unloads
adapters one at a time; the server loads all of them and switches per request. Switching
changes the shared model, so `use()` holds a lock for its whole block.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .models import load_model, peft_adapter_name

BASE_RUN = "base"
"""The run name of the base model answering without an adapter."""


class UnknownAdapter(KeyError):
    pass


class AdapterHost:
    def __init__(self, model_dir: Path, *, dtype: Any = None, trust_remote_code: bool = False):
        self.model: Any = load_model(model_dir, dtype=dtype, trust_remote_code=trust_remote_code)
        self.model.eval()
        self._adapters: list[str] = []
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        """Loaded adapters in load order, then `BASE_RUN`."""
        return [*self._adapters, BASE_RUN]

    def load(self, name: str, folder: Path) -> None:
        """Load the PEFT adapter in `folder` under the run name `name`."""
        from peft import PeftModel

        if name == BASE_RUN:
            raise ConfigError(f"adapter name {BASE_RUN!r} is reserved for the model without an adapter")
        if not (Path(folder) / "adapter_config.json").is_file():
            raise ConfigError(f"{folder}: no adapter_config.json; expected a PEFT adapter folder")
        with self._lock:
            if isinstance(self.model, PeftModel):
                self.model.load_adapter(str(folder), adapter_name=peft_adapter_name(name))
            else:
                self.model = PeftModel.from_pretrained(self.model, str(folder), adapter_name=peft_adapter_name(name))
            self.model.eval()
            self._adapters.append(name)

    def unload(self, name: str) -> None:
        """Free an adapter's weights (the base model's stay)."""
        with self._lock:
            self._known(name)
            if self._adapters == [name]:
                # PEFT cannot delete a model's last adapter cleanly (its active adapter would
                # dangle); removing the LoRA layers gives the plain base model back instead.
                self.model = self.model.unload()
            else:
                self.model.delete_adapter(peft_adapter_name(name))
            self._adapters.remove(name)

    @contextlib.contextmanager
    def use(self, name: str) -> Iterator[Any]:
        """The model answering as `name`, held exclusively until the block ends."""
        with self._lock:
            if name == BASE_RUN:
                with self.model.disable_adapter() if self._adapters else contextlib.nullcontext():
                    yield self.model
                return
            self._known(name)
            self.model.set_adapter(peft_adapter_name(name), inference_mode=True)
            yield self.model

    @contextlib.contextmanager
    def as_run(self, name: str, folder: Path | None) -> Iterator[Any]:
        """The model as run `name` for one block: its adapter from `folder` is in memory only
        meanwhile, so a pass over many adapters holds one at a time (`folder` None: the base)."""
        if folder is None:
            with self.use(BASE_RUN) as model:
                yield model
            return
        self.load(name, folder)
        try:
            with self.use(name) as model:
                yield model
        finally:
            self.unload(name)

    def _known(self, name: str) -> None:
        if name not in self._adapters:
            raise UnknownAdapter(f"adapter {name!r} is not loaded; loaded: {', '.join(self.names)}")
