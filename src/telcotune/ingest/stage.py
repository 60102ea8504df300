"""`telcotune import`: transcripts -> role-mapped, merged and cut conversations -> redacted
(nothing is written before) -> validated and de-duplicated -> split by group -> optionally
mixed with synthetic rows -> the data stage's folder (train/val/test.jsonl, rejects.jsonl,
stats.json, and scenarios.jsonl when synthetic rows bring scenarios), verified by the strict
second pass, `manifest.json` last and marked `holds_imported`. The stage skeleton runs in a
temporary folder beside `out` that replaces it whole (`fsio.atomic_dir`): a failed import,
verification included, leaves nothing behind."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..artifacts.data import (
    ConversationRow, DataStats, ImportedFile, ImportReject, ImportSummary, RowOrigin, SyntheticMixSummary,
)
from ..artifacts.io import read_record, write_record, write_rows
from ..data.card import write_interop_files
from ..data.conversation import SYSTEM_PROMPT, with_system
from ..data.dedup import deduplicate
from ..data.stats import build_stats
from ..data.validate import InvalidConversation, validate_conversation
from ..errors import DataError
from ..fsio import atomic_dir, write_jsonl
from ..manifest import StageRun, hash_inputs, read_manifest
from ..paths import MANIFEST, DataPaths
from ..privacy.engine import PrivacyEngine, build_engine
from ..privacy.redact import RedactedConversation, Redactor
from ..privacy.report import redaction_report
from ..privacy.verify import verify_files, verify_rows
from ..progress import progress_bar
from .formats import iter_sources, read_source
from .mix import DATA_STAGE, SyntheticMix, load_synthetic
from .options import ImportOptions
from .roles import Normalized, Rejected, normalize, role_table
from .split import GROUP_SPLITS, assign_group_splits
from .transcript import Transcript, TranscriptError

STAGE = "import"
IMPORTED = "imported"
DATA_STAGES = (DATA_STAGE, STAGE)
"""Stages whose folders an import may replace."""


@dataclass
class ImportResult:
    stats: DataStats
    formats: dict[str, str]
    """Source file name -> the format it was read as."""
    skipped: bool = False
    """The output folder was already current."""


@dataclass
class _Conversation:
    """One imported conversation on its way to a row."""

    index: int
    transcript: Transcript
    group: str
    normalized: Normalized | None = None
    redacted: RedactedConversation | None = None
    row: ConversationRow | None = None
    reject: ImportReject | None = None


def import_transcripts(out: Path | None, options: ImportOptions, *, engine: PrivacyEngine | None = None,
                       check_only: bool = False, progress: bool = True) -> ImportResult:
    """Import, redact and write `out`. With `check_only`, do everything but write: the stats
    (with the redaction report) are returned and the verifier runs on the rows in memory."""
    files = list(iter_sources([Path(s) for s in options.sources]))
    if not files:
        raise TranscriptError("import: no source file given")
    sources = [(path, read_source(path, options.format, options.columns, options.group_by)) for path in files]
    formats = {path.name: source.format for path, source in sources}
    if not check_only:
        out = Path(out)
        _check_out(out)
        stage = StageRun(out, STAGE, options.fingerprint(), _inputs(files, options, out))
        if stage.current:
            return ImportResult(read_record(DataPaths(out).stats, DataStats), formats, skipped=True)
    table = role_table(options.role_map)
    conversations = _conversations(sources)
    for c in conversations:  # every label is checked before any text is processed
        c.normalized = _normalized(c, normalize(c.transcript, table))
    engine = engine or build_engine(options.privacy)
    redactor = Redactor(engine)
    to_redact = [c for c in conversations if c.normalized is not None]
    with progress_bar("redacting conversations", total=len(to_redact), enabled=progress) as advance:
        for c in to_redact:
            _redact(c, redactor, options.system_prompt)
            advance(1)
    dedup = _deduplicate([c for c in conversations if c.row is not None])
    kept = [c for c in conversations if c.row is not None]
    assignment = assign_group_splits([c.row.group for c in kept], options.split, options.seed)
    by_split = {name: [c for c in kept if assignment[c.row.group] == name] for name in GROUP_SPLITS}
    mix = _mix(options, {name: len(rows) for name, rows in by_split.items()})
    rows = {name: [c.row for c in by_split[name]] + (mix.rows[name] if mix else []) for name in GROUP_SPLITS}
    rejects = [c.reject for c in conversations if c.reject is not None]
    stats = _stats(conversations, by_split, rows, rejects, dedup, mix, formats, options, engine)
    if check_only:
        verify_rows(engine, {**{f"{name}.jsonl": [r.model_dump() for r in split_rows]
                                for name, split_rows in rows.items()},
                             "rejects.jsonl": [r.model_dump() for r in rejects]})
        return ImportResult(stats, formats)
    if not kept:
        raise DataError("import: no conversation passed validation; nothing was written (rejects by reason: "
                        f"{stats.rejects.by_reason})")
    _write(out, stage, rows, rejects, mix, stats, engine, formats)
    return ImportResult(stats, formats)


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        manifest = read_manifest(out) if out.is_dir() else None
        if manifest is None or manifest.stage not in DATA_STAGES:
            raise DataError(f"--out: {out} exists and is not a data folder; choose a new or empty folder")


def _inputs(files: list[Path], options: ImportOptions, out: Path) -> dict[str, str]:
    """Keyed relative to `out`, like every stage's inputs (its temporary twin sits beside it, so
    the keys are the same from there)."""
    paths: list[Path] = list(files)
    if options.mix_synthetic is not None:
        synthetic = DataPaths(Path(options.mix_synthetic))
        paths += [p for p in (*map(synthetic.split, GROUP_SPLITS), synthetic.scenarios) if p.is_file()]
    return hash_inputs(paths, base=out)


def _conversations(sources) -> list[_Conversation]:
    groups: dict[str, str] = {}  # source group key -> anonymous label, by first appearance
    conversations = []
    for _, source in sources:
        for transcript in source.transcripts:
            label = groups.setdefault(transcript.group, f"group-{len(groups) + 1:06d}")
            conversations.append(_Conversation(len(conversations) + 1, transcript, label))
    return conversations


def _row_id(c: _Conversation) -> str:
    return f"{IMPORTED}-{c.index:06d}"


def _origin(c: _Conversation) -> RowOrigin:
    return RowOrigin(file=c.transcript.file, record=c.transcript.record)


def _reject(c: _Conversation, reason: str, detail: str) -> ImportReject:
    return ImportReject(id=_row_id(c), source=IMPORTED, origin=_origin(c), reason=reason, detail=detail)


def _normalized(c: _Conversation, result: Normalized | Rejected) -> Normalized | None:
    if isinstance(result, Rejected):
        c.reject = _reject(c, result.reason, result.detail)
        return None
    return result


def _redact(c: _Conversation, redactor: Redactor, system_prompt: str | None) -> None:
    normalized = c.normalized
    own_system = normalized.system if system_prompt is None else None
    texts = [t["content"] for t in normalized.turns] + ([own_system] if own_system else [])
    c.redacted = redactor.redact(texts)
    turns = [{"role": t["role"], "content": text} for t, text in zip(normalized.turns, c.redacted.texts)]
    system = system_prompt or (c.redacted.texts[-1] if own_system else SYSTEM_PROMPT)
    try:
        turns = validate_conversation({"messages": turns}, [])
    except InvalidConversation as exc:
        c.reject = _reject(c, exc.code, str(exc))
        return
    c.row = ConversationRow.model_validate({
        "id": _row_id(c), "source": IMPORTED, "group": c.group, "origin": _origin(c),
        "customer_turns": len(turns) // 2, "messages": with_system(turns, system)})


def _deduplicate(conversations: list[_Conversation]) -> dict[str, int]:
    """Reject repeats of earlier conversations; the counts removed, exact and near."""
    texts = ["\n".join(m.content for m in c.row.messages[1:]) for c in conversations]
    result = deduplicate(texts)
    for reason, indices in (("duplicate_exact", result.exact), ("duplicate_near", result.near)):
        for i in indices:
            c = conversations[i]
            c.reject, c.row = _reject(c, reason, reason.replace("_", " ") + " of an earlier conversation"), None
    return {"exact": len(result.exact), "near": len(result.near)}


def _mix(options: ImportOptions, imported: dict[str, int]) -> SyntheticMix | None:
    if options.mix_synthetic is None:
        return None
    return load_synthetic(Path(options.mix_synthetic), imported, options.synthetic_share, options.seed)


def _stats(conversations: list[_Conversation], by_split: dict[str, list[_Conversation]],
           rows: dict[str, list[ConversationRow]], rejects: list[ImportReject], dedup: dict[str, int],
           mix: SyntheticMix | None, formats: dict[str, str], options: ImportOptions,
           engine: PrivacyEngine) -> DataStats:
    """The data stage's statistics of the written rows, plus what was imported and redacted."""
    synthetic = {name: len(mix.rows[name]) if mix else 0 for name in GROUP_SPLITS}
    kept = [c.row for split in by_split.values() for c in split]
    changes: Counter = Counter()
    for c in conversations:
        if c.normalized is not None:
            changes.update(c.normalized.changes)
    base = build_stats(rows, [r.model_dump() for r in rejects], dedup, len(mix.scenarios) if mix else 0, {},
                       len(conversations))
    return base.model_copy(update={
        "source": "mixed" if any(synthetic.values()) else IMPORTED,
        "by_source": {name: {IMPORTED: len(by_split[name]), "synthetic": synthetic[name]} for name in GROUP_SPLITS},
        "imported": ImportSummary(
            read=len(conversations), kept=len(kept), groups=len({r.group for r in kept}),
            files=[ImportedFile(file=name, format=fmt,
                                conversations=sum(c.transcript.file == name for c in conversations))
                   for name, fmt in formats.items()],
            normalization=dict(sorted(changes.items()))),
        "synthetic": None if mix is None else SyntheticMixSummary(
            folder=str(options.mix_synthetic), share=options.synthetic_share, added=synthetic,
            available=mix.available),
        "redaction": redaction_report(
            {name: [c.redacted for c in by_split[name]] for name in GROUP_SPLITS},
            rejected=[c.redacted for c in conversations if c.row is None and c.redacted is not None],
            entities=engine.entities, ner_model=options.privacy.ner_model),
    })


def _write(out: Path, stage: StageRun, rows: dict[str, list[ConversationRow]], rejects: list[ImportReject],
           mix: SyntheticMix | None, stats: DataStats, engine: PrivacyEngine, formats: dict[str, str]) -> None:
    with atomic_dir(out) as tmp, StageRun(tmp, STAGE, stage.config_hash, stage.inputs) as run:
        paths = DataPaths(tmp)
        for name, split_rows in rows.items():
            write_rows(paths.split(name), split_rows, exclude_none=True)
        write_rows(paths.rejects, rejects)
        if mix is not None and mix.scenarios:
            write_jsonl(paths.scenarios, mix.scenarios)
        write_record(paths.stats, stats)
        verify_files(engine, [paths.split(n) for n in GROUP_SPLITS] + [paths.rejects, paths.stats])
        write_interop_files(paths, source="imported" if mix is None else "imported and synthetic")
        run.complete([p.name for p in tmp.iterdir() if p.is_file() and p.name != MANIFEST],
                     extra={"holds_imported": True, "source": stats.source, "formats": formats})
