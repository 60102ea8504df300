"""LoRA training: one run (`train_run`) and the sweep of runs (`run_sweep`).

    train_run(data_dir, out_dir, cfg, model, *, meter=None, tokenized=None, progress=True)
    run_sweep(data_dir, sweep_dir, runs, model, *, meter_factory=None, only=None,
              max_steps=None, progress=True)

See `run.py` (procedure, what is saved, early stopping), `batching.py` (length grouping),
`tokenize.py` (assistant-only loss mask) and `sweep.py`.
"""

from .run import train_run
from .sweep import run_sweep
from .tokenize import TokenizedData, tokenize_data

__all__ = ["TokenizedData", "run_sweep", "tokenize_data", "train_run"]
