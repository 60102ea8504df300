"""Importing real support transcripts: readers for OpenAI, ShareGPT and per-turn CSV/JSONL
exports (formats.py), role mapping, merging and cutting (roles.py), a seeded group split
(split.py), mixing in synthetic rows (mix.py), and the stage that redacts everything and
writes a data folder like the data stage's (stage.py)."""
