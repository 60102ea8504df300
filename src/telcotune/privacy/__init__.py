"""Personal data in imported transcripts, fully offline: Presidio with telecom recognizers
(recognizers.py, checksums.py) on a blank spaCy pipeline (engine.py), overlap resolution
(spans.py), consistent per-conversation placeholders (pseudonymize.py, redact.py), the strict
second pass (verify.py), counts without values (report.py), and the on-premises rule for
backends (onprem.py)."""
