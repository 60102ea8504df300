"""Typed records of every file one stage writes and another reads, defined once and used by
writer and reader alike: `run` (a training run's config, metrics, the finished-run rule),
`sweep` (sweep.json), `answers` (answers and their meta), `ranking` (ranking.json), `energy`
(every energy.json), `data` (stats.json), `manifest` (stage manifests); `io` reads and writes
them, turning a wrong shape into a StageError that names the file and the field.

Submodules are imported explicitly (`from telcotune.artifacts.run import RunMetrics`): none of
them imports torch, so the report can read every artifact without loading a model.
"""
