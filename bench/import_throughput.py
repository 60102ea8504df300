"""Import throughput: the test corpus (45 support conversations in three formats, 209 planted
personal values) written with several seeds, read, redacted, split and verified in memory
(`--check-only`). Reports the engine's build time and conversations redacted per second.

    .venv/bin/python bench/import_throughput.py [--copies 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telcotune.ingest.formats import parse_columns  # noqa: E402
from telcotune.ingest.options import ImportOptions  # noqa: E402
from telcotune.ingest.stage import import_transcripts  # noqa: E402
from telcotune.config import PrivacyConfig  # noqa: E402
from telcotune.privacy.engine import build_engine  # noqa: E402
from tests.transcript_corpus import CSV_COLUMNS, OPERATOR_PATTERNS, write_corpus  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=10, help="corpus copies, each with its own planted values")
    args = parser.parse_args()
    privacy = PrivacyConfig(patterns=OPERATOR_PATTERNS)
    started = time.perf_counter()
    engine = build_engine(privacy)
    build_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        files = [f for seed in range(args.copies) for f in write_corpus(Path(tmp) / f"c{seed}", seed=seed).files]
        options = ImportOptions(sources=tuple(files), columns=parse_columns([CSV_COLUMNS]), group_by="customer_id",
                                privacy=privacy)
        started = time.perf_counter()
        stats = import_transcripts(None, options, engine=engine, check_only=True, progress=False).stats
        elapsed_s = time.perf_counter() - started
    n = stats.imported.read
    report = stats.redaction
    spans = sum(report.entities.values()) + sum(report.rejected.entities.values())
    print(f"engine built in {build_s:.1f} s")
    print(f"{n} conversations ({spans} redacted spans) read, redacted, split and verified in {elapsed_s:.1f} s: "
          f"{n / elapsed_s:.1f} conversations/s")


if __name__ == "__main__":
    main()
