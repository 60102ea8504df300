"""Adapters name their base model portably: a hub id stays the hub id (not this machine's
snapshot path), so `AutoPeftModelForCausalLM` loads an adapter from a moved study folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from telcotune.models import DEFAULT_MODEL, adapter_base_name

from .conftest import ROOT, build_tiny_model
from .test_train_data import write_data

SNAPSHOT = "0123456789abcdef0123456789abcdef01234567"
HUB_ID = "acme/tiny-llama"

# Trained, moved and loaded in a child process: the hub cache and offline mode are read by
# huggingface_hub at import, and the child's working folder is neither the old nor the new one.
SCRIPT = """
import json, shutil, sys
from pathlib import Path
from telcotune.config import TrainConfig
from telcotune.energy.base import NullMeter
from telcotune.models import ModelRef
from telcotune.train import train_run

import os, warnings
root = Path(sys.argv[1])
cfg = TrainConfig(max_steps=2, batch_size=4, max_length=128, eval_every=2, save_every=2, precision="fp32")
# Training must not ask the hub about the base (PEFT's embedding check at save reads this variable
# when it runs; without it, it would look the hub id up).
os.environ.pop("HF_HUB_OFFLINE")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    train_run(root / "data", root / "study" / "sweep" / "r", cfg, ModelRef(sys.argv[2]), meter=NullMeter(), progress=False)
os.environ["HF_HUB_OFFLINE"] = "1"
moved = root / "elsewhere" / "study"
shutil.move(str(root / "study"), str(moved))
adapter = moved / "sweep" / "r" / "adapter"
recorded = json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"]
from peft import AutoPeftModelForCausalLM
model = AutoPeftModelForCausalLM.from_pretrained(str(adapter))
lora = [n for n, _ in model.named_parameters() if "lora_A" in n]
hub = [str(w.message) for w in caught if "remote file" in str(w.message) or "config file" in str(w.message)]
print(json.dumps({"recorded": recorded, "lora_params": len(lora), "type": type(model).__name__, "hub_warnings": hub}))
"""


def _fake_hub(cache: Path) -> None:
    repo = cache / f"models--{HUB_ID.replace('/', '--')}"
    build_tiny_model(repo / "snapshots" / SNAPSHOT)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(SNAPSHOT)


def test_adapter_from_a_hub_model_loads_with_auto_peft_after_moving_the_study(tmp_path):
    _fake_hub(tmp_path / "hub")
    write_data(tmp_path / "data", n_train=8, n_val=4)
    (tmp_path / "cwd").mkdir()
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]), "OMP_NUM_THREADS": "1",
           "TELCOTUNE_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), HUB_ID], cwd=tmp_path / "cwd", env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["recorded"] == HUB_ID
    assert result["lora_params"] > 0 and result["type"] == "PeftModelForCausalLM"
    assert result["hub_warnings"] == []


def test_embedded_and_local_specs_are_recorded_as_telcotune_resolves_them(tmp_path):
    assert adapter_base_name(DEFAULT_MODEL.upper()) == DEFAULT_MODEL
    folder = tmp_path / "model"
    folder.mkdir()
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert adapter_base_name("model") == str(folder.resolve())
    finally:
        os.chdir(cwd)
    assert adapter_base_name(" Qwen/Qwen2.5-3B-Instruct ") == "Qwen/Qwen2.5-3B-Instruct"
