"""The one experiment schema. Every shipped YAML is validated by it, every CLI help text
comes from its field descriptions (`field_help`), so the two cannot drift, and every command
merges its YAML and options in one function (`resolve_config`).

A study file has the sections `name`, `model`, `data`, `train`, `sweep`, `eval`, `judges`,
`energy`, `decoding`. Unknown keys and wrong types are errors that name the key.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError
from .yamlfile import load_yaml
from .manifest import hash_obj
from .models import DEFAULT_MODEL
from .paths import TEST_SPLITS

if TYPE_CHECKING:
    from .models import ModelRef

BUILTIN_GLOSSARY = "telecom"
"""The `data.glossary` value that names the shipped glossary, `BUILTIN_GLOSSARY_FILE`."""
BUILTIN_GLOSSARY_FILE = Path(__file__).parent / "glossaries" / "telecom.yaml"
"""`eval.prompts` names that mean a split of the data folder rather than a JSONL file."""
GENERATION_BATCH_SIZE = 32
"""Prompts generated together, for the evaluation's answers and a local judge: on 2 CPU cores
32 was the fastest (the offline judge scoring `make run`'s 102 answers took 48 s at 32 against
53 s at 8: long prompts whose shared instructions prefill once a batch)."""
TARGET_PRESETS: dict[str, tuple[str, ...]] = {
    "qv": ("q_proj", "v_proj"),
    "attn": ("q_proj", "k_proj", "v_proj", "o_proj"),
    "all": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
}


class Section(BaseModel):
    """Base for every config section: unknown keys are errors, assignments are validated."""

    # strict: `r: true` or `lr: "1e-4"` are errors, not 1 and 0.0001; no inf or NaN anywhere.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_attribute_docstrings=True,
                              strict=True, allow_inf_nan=False)


class ModelConfig(Section):
    spec: str = DEFAULT_MODEL
    """Base model: `smollm2-135m-instruct` (embedded), a Hugging Face hub id, or a local folder."""
    trust_remote_code: bool = False
    """Allow model code from the hub repository to run (off unless you trust it)."""

    def ref(self) -> "ModelRef":
        from .models import ModelRef

        return ModelRef(self.spec, self.trust_remote_code)


class SplitConfig(Section):
    train: float = Field(0.8, gt=0, lt=1)
    """Share of scenarios in the training split."""
    val: float = Field(0.1, gt=0, lt=1)
    """Share of scenarios in the validation split."""
    test: float = Field(0.1, gt=0, lt=1)
    """Share of scenarios in the test split."""

    @model_validator(mode="after")
    def _sums_to_one(self) -> "SplitConfig":
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"split fractions must sum to 1 (train + val + test = {total:g})")
        return self


class ClientSettings(Section):
    """How a stage calls an LLM backend: the data stage's generator and the judges share these
    fields (and so their defaults); `llm.build_client` takes them."""

    concurrency: int = Field(4, ge=1)
    """Concurrent requests to a remote LLM backend (a local model batches instead)."""
    max_retries: int = Field(5, ge=0)
    """Retries of a request on 429, 5xx and timeouts, with exponential backoff."""
    timeout_s: float = Field(120.0, gt=0)
    """Timeout of one LLM request, in seconds."""


CLIENT_SETTINGS = frozenset(ClientSettings.model_fields)


class DataConfig(ClientSettings):
    glossary: str = BUILTIN_GLOSSARY
    """Glossary YAML file, or `telecom` for the shipped 52-term glossary."""
    per_scenario: int = Field(19, ge=1)
    """Conversations generated per scenario (the study used about 19)."""
    backend: str = "template"
    """Generator: `template` (offline), `openai:MODEL[@BASE_URL]`, `gemini:MODEL`, `anthropic:MODEL` or `local:MODEL_SPEC`."""
    seed: int = 0
    """Seed for generation and splitting."""
    split: SplitConfig = Field(default_factory=SplitConfig)
    """Scenario-level split fractions (no scenario is in two splits)."""
    ood_terms: list[str] = Field(default_factory=list)
    """Terms held out entirely as an out-of-distribution test set (`test_ood.jsonl`)."""
    mistake_rate: float = Field(0.3, ge=0, le=1)
    """Share of conversations where the customer holds a misconception the assistant corrects."""
    max_turns: int = Field(4, ge=1, le=8)
    """Most customer turns in one conversation."""

    def glossary_path(self) -> Path:
        return BUILTIN_GLOSSARY_FILE if self.glossary == BUILTIN_GLOSSARY else Path(self.glossary)


class TrainConfig(Section):
    """Settings of one LoRA run; the sweep overrides any of them per run."""

    r: int = Field(16, ge=1)
    """LoRA rank."""
    alpha: float = Field(32, gt=0)
    """LoRA alpha (scale = alpha / r, or alpha / sqrt(r) with rslora)."""
    dropout: float = Field(0.05, ge=0, lt=1)
    """LoRA dropout."""
    targets: str = "qv"
    """Modules LoRA is injected into: `qv` (2), `attn` (4), `all` (7) or a comma list like `q_proj,v_proj`."""
    lr: float = Field(2e-4, gt=0)
    """Peak learning rate."""
    epochs: float = Field(1.0, gt=0)
    """Passes over the training set (ignored when max_steps is set)."""
    max_steps: int | None = Field(None, ge=1)
    """Stop after this many optimizer steps (overrides epochs)."""
    batch_size: int = Field(8, ge=1)
    """Sequences per micro-batch (packed or length-grouped)."""
    grad_accum: int = Field(1, ge=1)
    """Micro-batches per optimizer step."""
    max_length: int = Field(512, ge=16)
    """Longest tokenized conversation; longer ones are truncated."""
    seed: int = 0
    """Seed for LoRA init, data order and dropout."""
    rslora: bool = False
    """Rank-stabilised LoRA scaling."""
    dora: bool = False
    """Weight-decomposed LoRA (DoRA)."""
    schedule: Literal["cosine", "linear", "constant"] = "cosine"
    """Learning-rate schedule after warmup."""
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    """Share of steps spent warming up the learning rate."""
    weight_decay: float = Field(0.0, ge=0)
    """AdamW weight decay."""
    eval_every: int = Field(50, ge=1)
    """Compute validation loss every N optimizer steps (and at the end)."""
    save_every: int = Field(50, ge=1)
    """Write a resumable checkpoint every N optimizer steps."""
    early_stopping: int | None = Field(None, ge=1)
    """Stop after this many validations without improvement (off when unset)."""
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    """`auto`: bf16 autocast where the CPU or GPU supports it, else fp32."""
    max_train_examples: int | None = Field(None, ge=1)
    """Use at most this many training conversations (a seeded subset)."""
    max_val_examples: int | None = Field(None, ge=1)
    """Use at most this many validation conversations (a seeded subset)."""

    @field_validator("targets")
    @classmethod
    def _targets_known(cls, value: str) -> str:
        if value in TARGET_PRESETS:
            return value
        names = [t.strip() for t in value.split(",") if t.strip()]
        if not names:
            raise ValueError("targets is empty; use qv, attn, all or a comma list of module names")
        return ",".join(names)


TRAIN_KEYS = frozenset(TrainConfig.model_fields)


class SweepRun(TrainConfig):
    """One named run of a sweep: its name plus the train settings it changes."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    """Run name, used as its folder name."""


class SweepConfig(Section):
    file: str | None = None
    """A sweep YAML file (`base` plus `runs` or `grid`); inline keys below are merged over it."""
    base: dict[str, Any] = Field(default_factory=dict)
    """Settings shared by every run (train option names)."""
    runs: list[dict[str, Any]] = Field(default_factory=list)
    """Explicit runs, each with a `name` and the settings it changes."""
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    """Lists of values; every combination becomes a run named after its values."""


class KnowledgeConfig(Section):
    """Multiple-choice knowledge questions scored by log-likelihood on the base model and every
    adapter (`telcotune knowledge`, a step of `evaluate` when enabled)."""

    enabled: bool = False
    """Score the knowledge questions as a step of `evaluate` (`eval.knowledge: true` is short for this)."""
    glossary_mcq: bool = True
    """Include questions built from the study's glossary (definition, expansion, resolution step)."""
    mcq: list[str] = Field(default_factory=list)
    """MCQ JSONL files: one question a line with `question`, `options`, `answer` (0-based index or letter), optional `id`, `category`."""
    limit: int | None = Field(None, ge=1)
    """Score at most this many questions per source (a seeded subset)."""
    distractors: int = Field(3, ge=1, le=9)
    """Wrong options per glossary question."""
    batch_size: int = Field(16, ge=1)
    """Questions scored together (each with all its options) in one forward pass."""


class EvalConfig(Section):
    prompts: list[str] = Field(default_factory=lambda: ["test"])
    """Prompt sets to answer: `test`, `test_ood` or a JSONL file of conversations."""
    limit: int | None = Field(None, ge=1)
    """Answer at most this many prompts per set (a seeded subset)."""
    max_new_tokens: int = Field(160, ge=1)
    """Longest generated answer, in tokens."""
    temperature: float = Field(0.0, ge=0)
    """Sampling temperature; 0 is greedy decoding."""
    batch_size: int = Field(GENERATION_BATCH_SIZE, ge=1)
    """Prompts generated together: each prefilled on its own, then decoded as one left-padded
    batch (32 measured fastest on 2 CPU cores; lower it if memory is short)."""
    include_base: bool = True
    """Also answer with the base model (no adapter), for comparison."""
    protocol: Literal["pointwise", "pairwise", "both"] = "pointwise"
    """Judging protocol."""
    pairs: Literal["all", "swiss"] = "all"
    """Pairwise: compare all pairs of runs, or a Swiss-style subset."""
    swiss_rounds: int = Field(4, ge=1)
    """Pairwise with `swiss`: rounds of pairing runs with similar scores."""
    seed: int = 0
    """Seed for prompt subsets and bootstrap."""
    bootstrap: int = Field(1000, ge=10)
    """Bootstrap resamples for confidence intervals."""
    knowledge: KnowledgeConfig = Field(default_factory=KnowledgeConfig)
    """Knowledge questions (multiple choice, scored by log-likelihood); `true` enables the defaults."""

    @field_validator("knowledge", mode="before")
    @classmethod
    def _knowledge_switch(cls, value: Any) -> Any:
        return {"enabled": value} if isinstance(value, bool) else value


class JudgesConfig(ClientSettings):
    panel: list[str] = Field(default_factory=lambda: ["rubric", "semantic", f"local:{DEFAULT_MODEL}"])
    """Judge specs: `rubric`, `semantic`, `local:MODEL_SPEC`, `openai:MODEL[@BASE_URL]`, `anthropic:MODEL`, `gemini:MODEL`."""


class EnergyConfig(Section):
    country: str = Field("USA", pattern=r"^[A-Z]{3}$")
    """ISO 3166 alpha-3 country code used for the grid's carbon intensity (CodeCarbon offline)."""
    interval_s: float = Field(1.0, gt=0)
    """CodeCarbon's power-measurement interval, in seconds (inside a window it samples CPU load every second)."""
    meter: Literal["codecarbon", "none"] = "codecarbon"
    """Energy meter; `none` records energy as missing."""


class DecodingConfig(Section):
    """How `chat` and `serve` pick each reply token; a request may override each field. The
    defaults are greedy with a light repetition penalty and no repeated 4-grams, as llama.cpp and
    Ollama ship a penalty by default: a small model decoded greedily otherwise loops ("a slow
    connection, a slow connection, ...")."""

    temperature: float = Field(0.0, ge=0, le=2)
    """Sampling temperature; 0 is greedy (the same reply every time)."""
    top_p: float = Field(1.0, gt=0, le=1)
    """Nucleus sampling: sample among the most likely tokens whose probabilities add up to this (with temperature > 0)."""
    repetition_penalty: float = Field(1.1, ge=1, le=2)
    """Divide the (positive) score of every token already in the reply's last `penalty_window` tokens by this; 1 is off (llama.cpp's repeat_penalty)."""
    frequency_penalty: float = Field(0.0, ge=-2, le=2)
    """OpenAI's: subtract this times a token's count in the window from its score."""
    presence_penalty: float = Field(0.0, ge=-2, le=2)
    """OpenAI's: subtract this from the score of every token present in the window."""
    penalty_window: int = Field(64, ge=1)
    """Reply tokens the penalties look back over (Ollama's repeat_last_n); the prompt is never penalised."""
    no_repeat_ngram: int = Field(4, ge=0)
    """Never repeat an n-gram of this many tokens within the reply; 0 is off."""


class ExperimentConfig(Section):
    name: str = Field("study", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    """Study name; outputs go to runs/<name>/ unless --workdir says otherwise."""
    model: ModelConfig = Field(default_factory=ModelConfig)
    """Base model."""
    data: DataConfig = Field(default_factory=DataConfig)
    """Synthetic data generation."""
    train: TrainConfig = Field(default_factory=TrainConfig)
    """Defaults for every training run."""
    sweep: SweepConfig = Field(default_factory=SweepConfig)
    """The LoRA configurations to compare."""
    eval: EvalConfig = Field(default_factory=EvalConfig)
    """Answer generation and judging protocol."""
    judges: JudgesConfig = Field(default_factory=JudgesConfig)
    """The judge panel."""
    energy: EnergyConfig = Field(default_factory=EnergyConfig)
    """Energy metering."""
    decoding: DecodingConfig = Field(default_factory=DecodingConfig)
    """Decoding of `chat` and `serve` replies (requests may override it)."""

    def digest(self) -> str:
        return hash_obj(self.model_dump(mode="json"))


def format_validation_error(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid config"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def read_yaml(path: str | Path) -> Any:
    return load_yaml(path, ConfigError)


def _relative_to(base: Path, value: str) -> str:
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else (base / p))


def load_config(path: str | Path, check_files: bool = True) -> ExperimentConfig:
    """Load and validate an experiment YAML. Relative file paths are taken from the YAML's folder
    first, then from the current folder."""
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    try:
        cfg = ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path))) from None
    _resolve_files(cfg, path.parent)
    if check_files:
        check_config_files(cfg, str(path))
    expand_sweep(cfg, source=str(path))  # validates every run now, before any stage starts
    return cfg


def _resolve_files(cfg: ExperimentConfig, base: Path) -> None:
    def pick(value: str) -> str:
        local = Path(_relative_to(base, value))
        return str(local) if local.exists() or not Path(value).exists() else value

    if cfg.data.glossary != BUILTIN_GLOSSARY:
        cfg.data.glossary = pick(cfg.data.glossary)
    if cfg.sweep.file:
        cfg.sweep.file = pick(cfg.sweep.file)
    cfg.eval.prompts = [p if p in TEST_SPLITS else pick(p) for p in cfg.eval.prompts]
    cfg.eval.knowledge.mcq = [pick(p) for p in cfg.eval.knowledge.mcq]


def _missing_files(cfg: ExperimentConfig) -> list[tuple[str, str, str, str]]:
    """(section, field, key, value) of every file the config names that does not exist."""
    missing = []
    if not cfg.data.glossary_path().is_file():
        missing.append(("data", "glossary", "data.glossary", cfg.data.glossary))
    if cfg.sweep.file and not Path(cfg.sweep.file).is_file():
        missing.append(("sweep", "file", "sweep.file", cfg.sweep.file))
    for i, p in enumerate(cfg.eval.prompts):
        if p not in TEST_SPLITS and not Path(p).is_file():
            missing.append(("eval", "prompts", f"eval.prompts.{i}", p))
    for i, p in enumerate(cfg.eval.knowledge.mcq):
        if not Path(p).is_file():
            missing.append(("eval", "knowledge", f"eval.knowledge.mcq.{i}", p))
    return missing


def check_config_files(cfg: ExperimentConfig, source: str) -> None:
    missing = _missing_files(cfg)
    if missing:
        detail = "\n".join(f"  {key}: file not found: {value}" for _, _, key, value in missing)
        raise ConfigError(f"{source}: invalid config\n{detail}")


# ---------------------------------------------------------------- sweep expansion


def load_sweep_file(path: str | Path) -> SweepConfig:
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with `base` and `runs` or `grid`")
    try:
        return SweepConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path))) from None


MAX_GRID_RUNS = 1024
"""The most runs a sweep grid may expand to (counted before expanding)."""


def _grid_name(keys: list[str], combo: tuple[Any, ...]) -> str:
    """`r16-lr0.0002-targetsq_proj.v_proj`: only characters a run name may hold."""
    return "-".join(f"{k}{re.sub(r'[^A-Za-z0-9_]+', '.', str(v)).strip('.')}" for k, v in zip(keys, combo))


def _grid_runs(grid: dict[str, list[Any]], source: str) -> list[dict[str, Any]]:
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{source}: grid.{key}: expected a non-empty list")
    keys = list(grid)
    count = math.prod(len(grid[k]) for k in keys)
    if count > MAX_GRID_RUNS:
        sizes = " x ".join(f"{len(grid[k])} {k}" for k in keys)
        raise ConfigError(f"{source}: grid: {sizes} = {count:,} runs; a sweep grid may have at most {MAX_GRID_RUNS} "
                          f"(list the runs you want under `runs:` instead)")
    return [{"name": _grid_name(keys, combo), **dict(zip(keys, combo))}
            for combo in itertools.product(*(grid[k] for k in keys))]


def expand_sweep(cfg: ExperimentConfig, source: str = "config") -> list[SweepRun]:
    """Every run of the study's sweep as a validated `SweepRun`: train defaults, then the sweep
    file's base and run, then inline base and run. Raises ConfigError naming the run and key."""
    sweep = cfg.sweep
    file_sweep = load_sweep_file(sweep.file) if sweep.file else SweepConfig()
    origin = sweep.file or source
    base = {**file_sweep.base, **sweep.base}
    raw_runs = list(sweep.runs) or list(file_sweep.runs)
    grid = sweep.grid or file_sweep.grid
    if raw_runs and grid:
        raise ConfigError(f"{origin}: give either `runs` or `grid`, not both")
    if grid:
        raw_runs = _grid_runs(grid, origin)
    if not raw_runs:
        raw_runs = [{"name": "default"}]
    defaults = cfg.train.model_dump()
    runs, seen = [], set()
    for i, raw in enumerate(raw_runs):
        if not isinstance(raw, dict):
            raise ConfigError(f"{origin}: runs.{i}: expected a mapping")
        label = raw.get("name", f"#{i}")
        merged = {**defaults, **base, **raw}
        try:
            run = SweepRun.model_validate(merged)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, f"{origin}: run {label}")) from None
        if run.name in seen:
            raise ConfigError(f"{origin}: run {run.name}: duplicate run name")
        seen.add(run.name)
        runs.append(run)
    return runs


def field_help(model: type[BaseModel], name: str) -> str:
    """CLI help for a config field: its description and default, defined once in the schema."""
    field = model.model_fields[name]
    text = field.description or ""
    default = field.get_default(call_default_factory=True)
    if default is not None and not isinstance(default, (list, dict, BaseModel)):
        text += f" [default: {default}]"
    return text


# Command-line options whose name is not the field's (`--` plus the name with dashes).
_OPTION_NAMES = {("model", "spec"): "--model", ("data", "ood_terms"): "--ood-term",
                 ("judges", "panel"): "--judge"}


def option_name(section: str, field: str) -> str:
    """The command-line option that overrides `section.field`."""
    return _OPTION_NAMES.get((section, field), "--" + field.replace("_", "-"))


def resolve_config(config_path: str | Path | None,
                   overrides: Mapping[str, Mapping[str, Any]] | None = None) -> ExperimentConfig:
    """The config a command runs with: the experiment YAML (else the schema's defaults) with the
    command line's options over it. `overrides` maps a section to its fields; a None value is an
    option not given. Errors name the option.

    `--epochs` alone clears a `max_steps` from the YAML (which would otherwise win over it);
    `--epochs` with `--max-steps` is an error."""
    given = {section: {k: v for k, v in fields.items() if v is not None}
             for section, fields in (overrides or {}).items()}
    train = given.get("train", {})
    if "epochs" in train and "max_steps" in train:
        raise ConfigError("--epochs and --max-steps: give one (max_steps overrides epochs)")
    source = str(config_path) if config_path else "command line"
    cfg = load_config(config_path, check_files=False) if config_path else ExperimentConfig()
    sections = {}
    for section, fields in given.items():
        if not fields:
            continue
        current = getattr(cfg, section)
        merged = {**current.model_dump(), **fields}
        if section == "train" and "epochs" in fields:
            merged["max_steps"] = None
        try:
            sections[section] = type(current).model_validate(merged)
        except ValidationError as exc:
            raise ConfigError(_option_errors(exc, section, fields)) from None
    cfg = cfg.model_copy(update=sections)
    missing = _missing_files(cfg)
    if missing:
        raise ConfigError("\n".join(
            f"{option_name(section, field)}: file not found: {value}" if field in given.get(section, {})
            else f"{source}: {key}: file not found: {value}" for section, field, key, value in missing))
    return cfg


def _option_errors(exc: ValidationError, section: str, fields: Mapping[str, Any]) -> str:
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        key = ".".join([section, *loc])
        if loc and loc[0] in fields:
            lines.append(f"{option_name(section, loc[0])} {fields[loc[0]]}: {err['msg']} ({key})")
        else:
            lines.append(f"{key}: {err['msg']}")
    return "\n".join(lines)
