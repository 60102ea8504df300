"""Template backend throughput: the full data stage (generate, validate, de-duplicate, split,
write) for the shipped glossary at the study's scale, 19 conversations per scenario.

Target: ~30,000 conversations in under 60 s on 2 cores.

    .venv/bin/python bench/data_throughput.py [--per-scenario 19]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from telcotune.config import DataConfig
from telcotune.data.stage import run_data_stage

TARGET_S = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-scenario", type=int, default=19)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        stats = run_data_stage(DataConfig(per_scenario=args.per_scenario), Path(tmp) / "data", progress=False)
        elapsed_s = time.perf_counter() - started
    n = stats["conversations"]
    generation_s = stats["backend"]["template"]["duration_s"]
    print(f"planned {stats['planned']}, kept {n} conversations "
          f"(rejects {stats['rejects']['by_reason']}, duplicates {stats['duplicates_removed']})")
    print(f"generation {generation_s:.1f} s, whole stage {elapsed_s:.1f} s, {n / elapsed_s:,.0f} conversations/s")
    print(f"target: under {TARGET_S:.0f} s -> {'MET' if elapsed_s < TARGET_S else 'MISSED'} "
          f"({elapsed_s / TARGET_S:.2f} of the budget)")


if __name__ == "__main__":
    main()
