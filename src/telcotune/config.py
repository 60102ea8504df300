"""The one experiment schema. Every shipped YAML is validated by it, every CLI help text
comes from its field descriptions (`field_help`), so the two cannot drift, and every command
merges its YAML and options in one function (`resolve_config`).

A study file has the sections `name`, `model`, `data`, `train`, `sweep`, `eval`, `judges`,
`energy`, `tracking`, `decoding`. Unknown keys and wrong types are errors that name the key.
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
PLAN_HALFWIDTH = 0.25
"""The planner's target when none is given, and the report's: 95% intervals of at most +-0.25
in each judge's unit (a quarter of a score point; for pairwise, of a log-strength), a run's
own and a paired difference's."""
GENERATION_BATCH_SIZE = 32
"""Prompts generated together, for the evaluation's answers and a local judge: on 2 CPU cores
32 was the fastest (the offline judge scoring `make run`'s 102 answers took 48 s at 32 against
53 s at 8: long prompts whose shared instructions prefill once a batch)."""
ARCH_TARGET_PRESETS: dict[str, dict[str, tuple[str, ...]]] = {
    # Llama, Qwen2, Mistral, SmolLM: separate projections.
    "llama": {
        "qv": ("q_proj", "v_proj"),
        "attn": ("q_proj", "k_proj", "v_proj", "o_proj"),
        "all": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
    },
    # Phi-3: query, key and value are one fused layer, as are gate and up; `qv` cannot take two
    # of the three, so it means the fused layer.
    "phi3": {
        "qv": ("qkv_proj",),
        "attn": ("qkv_proj", "o_proj"),
        "all": ("qkv_proj", "o_proj", "gate_up_proj", "down_proj"),
    },
    # GPT-2: fused c_attn; `c_proj` is both the attention output and the MLP output, so `attn`
    # names the attention one by its parent (PEFT matches a target as a name suffix).
    "gpt2": {
        "qv": ("c_attn",),
        "attn": ("c_attn", "attn.c_proj"),
        "all": ("c_attn", "c_proj", "c_fc"),
    },
}
"""`targets` presets per architecture family: the family is the first whose `all` modules the
model has (`train.lora.resolve_targets`)."""
TARGET_PRESETS = ARCH_TARGET_PRESETS["llama"]
"""The presets' module names for Llama-style models (the embedded model's)."""
ALL_LINEAR = "all-linear"
"""`targets: all-linear`, as in PEFT: every linear layer except the output head."""
TRAIN_ALIASES: dict[str, str] = {
    "lora_r": "r",
    "lora_alpha": "alpha",
    "lora_dropout": "dropout",
    "lora_target_modules": "targets",
    "learning_rate": "lr",
    "micro_batch_size": "batch_size",
    "gradient_accumulation_steps": "grad_accum",
    "sequence_len": "max_length",
    "num_epochs": "epochs",
}
"""PEFT / Axolotl key names accepted for train and sweep settings (alias -> telcotune's name).
Giving both names of one setting is an error; `lora_target_modules` may be a list."""


def canonical_train_keys(raw: Mapping[str, Any]) -> dict[str, Any]:
    """`raw` with every alias renamed to telcotune's key; ValueError when a setting is given
    under both names. A list of target modules becomes the comma list `targets` holds."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = TRAIN_ALIASES.get(key, key)
        if name in out:
            alias = key if key in TRAIN_ALIASES else next(a for a, n in TRAIN_ALIASES.items() if n == name)
            raise ValueError(f"{alias} is another name for {name}; give one of them")
        out[name] = value
    targets = out.get("targets")
    if isinstance(targets, list) and all(isinstance(t, str) for t in targets):
        out["targets"] = ",".join(targets)
    return out


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
    """Total deadline of one LLM request, in seconds: connecting, waiting and reading the whole
    reply, not per read (a server trickling bytes cannot stretch it)."""
    allow_plain_http: bool = False
    """Send OPENAI_API_KEY over plain `http://` to a host other than this machine. Off: such an
    `openai:MODEL@http://...` backend is refused while the key is set (it would cross the network
    in clear text); `https://` and loopback addresses need no opt-in."""


CLIENT_SETTINGS = frozenset(ClientSettings.model_fields)


# ---------------------------------------------------------------- importing real transcripts

DEFAULT_PHONE_REGIONS = ("GB", "US", "DE", "FR", "ES", "IT", "NL", "IN")
"""National formats tried in this order (a number is read in the first region where it is valid;
Canada shares the US plan). Set `phone_regions` to the operator's countries: each costs a pass."""
BUILTIN_ENTITIES = ("PHONE", "IMEI", "ICCID", "IMSI", "IBAN", "CARD", "EMAIL", "IP", "MAC", "ADDRESS",
                    "PERSON", "SIM_CODE")
_ENTITY_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,31}")


def _privacy_module(name: str):
    """A module of the `privacy` extra (regex, phonenumbers), imported when a privacy setting is
    checked: the rest of the schema does not need the extra."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        raise ValueError(f"needs the privacy extra ({name} is missing): pip install 'telcotune[privacy]'") from None


class PrivacyConfig(Section):
    patterns: dict[str, str] = Field(default_factory=dict)
    """Operator-defined entities, NAME: regular expression (e.g. ACCOUNT: 'ACC-\\d{8}'); each match becomes <NAME_n>."""
    ner_model: str | None = None
    """spaCy model (an installed package name or a folder) whose NER finds names of people; unset: names are not checked. Never downloaded."""
    phone_regions: list[str] = Field(default_factory=lambda: list(DEFAULT_PHONE_REGIONS))
    """Regions (ISO 3166 alpha-2) whose national phone number formats are recognised."""
    allow_list: list[str] = Field(default_factory=list)
    """Values never redacted, besides the built-in well-known addresses (exact text, case-insensitive)."""

    @field_validator("patterns")
    @classmethod
    def _check_patterns(cls, patterns: dict[str, str]) -> dict[str, str]:
        for name, pattern in patterns.items():
            if not _ENTITY_NAME.fullmatch(name):
                raise ValueError(f"{name!r}: entity names are upper case letters, digits and _ (e.g. ACCOUNT)")
            if name in BUILTIN_ENTITIES:
                raise ValueError(f"{name!r} is a built-in entity; choose another name")
            regex = _privacy_module("regex")  # Presidio compiles patterns with `regex`, not `re`
            try:
                compiled = regex.compile(pattern)
            except regex.error as exc:
                raise ValueError(f"{name}: not a valid regular expression ({exc})") from None
            if compiled.fullmatch(""):
                raise ValueError(f"{name}: the pattern matches the empty string")
        return patterns

    @field_validator("phone_regions")
    @classmethod
    def _check_regions(cls, regions: list[str]) -> list[str]:
        phonenumbers = _privacy_module("phonenumbers")
        unknown = [r for r in regions if r.upper() not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"unknown phone regions {unknown} (ISO 3166 alpha-2 codes such as GB, US)")
        return [r.upper() for r in regions]


IMPORT_FORMATS = ("auto", "openai", "sharegpt", "csv")
COLUMN_FIELDS = ("id", "order", "role", "text")
SPEAKER_ROLES = ("user", "assistant", "system", "drop")


class ImportSourceConfig(Section):
    """Real support transcripts imported (and redacted on this machine) instead of generated
    conversations, or beside them with `mix_synthetic` (`telcotune import` with these options)."""

    path: list[str]
    """Transcript files or folders (.jsonl, .json, .csv, .tsv); one path or a list."""
    format: Literal["auto", "openai", "sharegpt", "csv"] = "auto"
    """`auto` (detected per file), `openai` (messages), `sharegpt` (conversations) or `csv` (one row per turn, CSV or JSONL)."""
    columns: dict[Literal["id", "order", "role", "text"], str] = Field(default_factory=dict)
    """Per-turn column names (id, order, role, text) where they differ from conversation_id, turn|timestamp, role, text."""
    role_map: dict[str, Literal["user", "assistant", "system", "drop"]] = Field(default_factory=dict)
    """Speaker label -> role, over the built-in names (agent, customer, bot, operator, ...)."""
    group_by: str | None = None
    """Field or column whose value keeps conversations together in one split (ticket, customer or account id); unset: the conversation id."""
    system_prompt: str | None = None
    """System message for every conversation (text or a file); unset: the conversation's own, else the built-in one."""
    mix_synthetic: bool = False
    """Also generate synthetic conversations with this `data` section's settings (into the study's `synthetic/`) and mix them into each split."""
    synthetic_share: float = Field(0.5, ge=0, lt=1)
    """With mix_synthetic: share of each split made of synthetic rows."""
    split: SplitConfig = Field(default_factory=SplitConfig)
    """Shares of train, val and test by conversations, whole groups only."""
    allow_remote: bool = False
    """Let remote backends (openai: without a loopback or private base URL, anthropic:, gemini:) generate for, judge or answer this study's imported data; off: they are refused."""
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    """Redaction: operator patterns, NER model, phone regions, allow list."""

    @field_validator("path", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("path")
    @classmethod
    def _not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("give at least one transcript file or folder")
        return value


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
    source: ImportSourceConfig | None = None
    """Import real transcripts instead of generating (`path`, `format`, `role_map`, `group_by`, ...); unset: generate."""

    def glossary_path(self) -> Path:
        return BUILTIN_GLOSSARY_FILE if self.glossary == BUILTIN_GLOSSARY else Path(self.glossary)

    def remote_allowed(self) -> bool:
        """Whether remote backends may see this study's imported data (`source.allow_remote`)."""
        return self.source is not None and self.source.allow_remote


class ResourcesConfig(Section):
    """What one run asks of a Ray cluster (used by `sweep.executor: ray`; not part of a run's
    identity: where a run is placed does not change what it trains). Unset means the default
    for the device: with GPUs in the cluster 1 GPU and 4 CPUs a run, without them 1 CPU a run."""

    gpus: float | None = Field(None, ge=0)
    """GPUs per run (fractions share a GPU) [default: 1 when the cluster has GPUs, else 0]."""
    cpus: float | None = Field(None, gt=0)
    """CPUs per run; a CPU run trains with this many threads [default: 4 with a GPU, else 1]."""
    memory_gb: float | None = Field(None, gt=0)
    """Memory reserved per run, in GB (Ray's `memory` resource) [default: none reserved]."""


class TrainConfig(Section):
    """Settings of one LoRA run; the sweep overrides any of them per run."""

    r: int = Field(16, ge=1)
    """LoRA rank."""
    alpha: float = Field(32, gt=0)
    """LoRA alpha (scale = alpha / r, or alpha / sqrt(r) with rslora)."""
    dropout: float = Field(0.05, ge=0, lt=1)
    """LoRA dropout."""
    targets: str = "qv"
    """Modules LoRA is injected into: `qv` (2), `attn` (4), `all` (7) (names per architecture), `all-linear` or a comma list like `q_proj,v_proj`."""
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
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig)
    """Per-run Ray resources: `gpus`, `cpus`, `memory_gb` (only with `sweep.executor: ray`)."""

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, raw: Any) -> Any:
        return canonical_train_keys(raw) if isinstance(raw, Mapping) else raw

    @field_validator("targets")
    @classmethod
    def _targets_known(cls, value: str) -> str:
        if value in TARGET_PRESETS or value == ALL_LINEAR:
            return value
        names = [t.strip() for t in value.split(",") if t.strip()]
        if not names:
            raise ValueError(f"targets is empty; use qv, attn, all, {ALL_LINEAR} or a comma list of module names")
        return ",".join(names)


TRAIN_KEYS = frozenset(TrainConfig.model_fields)
PLACEMENT_KEYS = frozenset({"resources"})
"""TrainConfig fields that say where a run goes, not what it trains (left out of its identity)."""


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
    executor: Literal["local", "ray"] = "local"
    """Where runs train: `local` (one after another in this process) or `ray` (one Ray task per run)."""
    ray_address: str | None = None
    """Ray cluster to use: `auto`, `HOST:PORT` or `ray://HOST:PORT` [default: $RAY_ADDRESS, else a local Ray instance started for the sweep]."""
    max_concurrent: int | None = Field(None, ge=1)
    """With `ray`: at most this many runs at once [default: as many as the resources allow]."""
    max_retries: int = Field(3, ge=0)
    """With `ray`: times a run whose worker died (node lost, killed) is retried; it resumes from its checkpoint."""
    scratch: str | None = None
    """With `ray`, when the study folder is not on storage every node sees: a folder on each node where
    runs train before their files are shipped to the driver [default: the study folder is shared]."""


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


JudgingProtocol = Literal["pointwise", "pairwise", "both"]
"""How a judge judges: each answer alone, pairs of answers, or both."""


class EvalConfig(Section):
    prompts: list[str] = Field(default_factory=lambda: ["test"])
    """Prompt sets to answer: `test`, `test_ood` or a JSONL file of conversations."""
    limit: int | None = Field(None, ge=1)
    """Answer at most this many prompts per set (a seeded subset)."""
    max_new_tokens: int = Field(160, ge=1)
    """Longest generated answer, in tokens."""
    batch_size: int = Field(GENERATION_BATCH_SIZE, ge=1)
    """Prompts generated together: each prefilled on its own, then decoded as one left-padded
    batch (32 measured fastest on 2 CPU cores; lower it if memory is short)."""
    include_base: bool = True
    """Also answer with the base model (no adapter), for comparison."""
    protocol: JudgingProtocol = "pointwise"
    """Judging protocol (a judge may have its own: `judges.protocols`)."""
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
    protocols: dict[str, JudgingProtocol] = Field(default_factory=dict)
    """Judge spec -> its own protocol, for a judge that should not follow `eval.protocol` (e.g. a small local judge pointwise only) [default: `eval.protocol` for every judge]."""

    @model_validator(mode="after")
    def _protocols_name_panel_judges(self) -> "JudgesConfig":
        unknown = sorted(set(self.protocols) - set(self.panel))
        if unknown:
            raise ValueError(f"protocols: {unknown[0]!r} is not a judge of the panel {self.panel}")
        return self

    def protocol(self, spec: str, default: JudgingProtocol) -> JudgingProtocol:
        """The protocol judge `spec` follows, `default` being `eval.protocol`."""
        return self.protocols.get(spec, default)


class EnergyConfig(Section):
    country: str = Field("USA", pattern=r"^[A-Z]{3}$")
    """ISO 3166 alpha-3 country code used for the grid's carbon intensity (CodeCarbon offline)."""
    interval_s: float = Field(1.0, gt=0)
    """CodeCarbon's power-measurement interval, in seconds (inside a window it samples CPU load every second)."""
    meter: Literal["codecarbon", "nvml", "none"] = "codecarbon"
    """Energy meter: `codecarbon` (the whole machine), `nvml` (only the GPUs the run was given, by NVML device index), `none` (energy recorded as missing)."""


class TrackingConfig(Section):
    """Experiment tracking of the training runs and the evaluation (`telcotune.tracking`)."""

    backend: Literal["none", "mlflow", "tensorboard"] = "none"
    """Tracker: `mlflow` (one run per configuration nested under the study's run), `tensorboard` (event files) or `none` (nothing imported or written)."""
    uri: str | None = None
    """MLflow tracking URI (a server or `file:` store) or TensorBoard log folder [default: the study folder's mlruns/ or tensorboard/]."""
    experiment: str | None = None
    """MLflow experiment name [default: the study name]."""

    @field_validator("uri")
    @classmethod
    def _no_credentials(cls, value: str | None) -> str | None:
        from urllib.parse import urlsplit

        if value is not None and (urlsplit(value).password or urlsplit(value).username):
            # the resolved config is written to the study folder: a password there would leak
            raise ValueError("no credentials in the URI; set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD "
                             "(or MLFLOW_TRACKING_TOKEN) in the environment instead")
        return value


class DecodingConfig(Section):
    """How `chat`, `serve` and the evaluation's answers pick each reply token; a request may override each field. The
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
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    """Experiment tracking (MLflow or TensorBoard)."""
    decoding: DecodingConfig = Field(default_factory=DecodingConfig)
    """Decoding of `chat` and `serve` replies (requests may override it) and of the evaluation's answers."""

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
    source = cfg.data.source
    if source is not None:
        source.path = [pick(p) for p in source.path]
        if source.system_prompt is not None and _could_be_path(source.system_prompt):
            source.system_prompt = pick(source.system_prompt)
    if cfg.sweep.file:
        cfg.sweep.file = pick(cfg.sweep.file)
    cfg.eval.prompts = [p if p in TEST_SPLITS else pick(p) for p in cfg.eval.prompts]
    cfg.eval.knowledge.mcq = [pick(p) for p in cfg.eval.knowledge.mcq]


def _could_be_path(value: str) -> bool:
    """A system prompt is its text or a file: only a short single line may name a file."""
    return len(value) < 1024 and "\n" not in value


def _missing_files(cfg: ExperimentConfig) -> list[tuple[str, str, str, str]]:
    """(section, field, key, value) of every file the config names that does not exist."""
    missing = []
    if not cfg.data.glossary_path().is_file():
        missing.append(("data", "glossary", "data.glossary", cfg.data.glossary))
    for i, p in enumerate(cfg.data.source.path if cfg.data.source else []):
        if not Path(p).exists():
            missing.append(("data", "source", f"data.source.path.{i}", p))
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
        try:
            layers = [defaults, canonical_train_keys(base), canonical_train_keys(raw)]
        except ValueError as exc:
            raise ConfigError(f"{origin}: run {label}: {exc}") from None
        merged = {k: v for layer in layers for k, v in layer.items()}
        resources = [layer.get("resources") for layer in layers]
        if all(isinstance(r, dict) for r in resources if r is not None):
            merged["resources"] = {k: v for r in resources if r for k, v in r.items()}  # per key
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
                 ("judges", "panel"): "--judge", ("tracking", "backend"): "--track"}


def option_name(section: str, field: str) -> str:
    """The command-line option that overrides `section.field`."""
    return _OPTION_NAMES.get((section, field), "--" + field.replace("_", "-"))


def resolve_config(config_path: str | Path | None,
                   overrides: Mapping[str, Mapping[str, Any]] | None = None) -> ExperimentConfig:
    """The config a command runs with: the experiment YAML (else the schema's defaults) with the
    command line's options over it. `overrides` maps a section to its fields; a None value is an
    option not given. Errors name the option.

    `--epochs` alone clears a `max_steps` from the YAML (which would otherwise win over it);
    `--epochs` with `--max-steps` is an error. `--judge` replaces the panel and keeps
    `judges.protocols` only for the judges still in it."""
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
        if section == "judges" and "panel" in fields:  # `--judge`: own protocols of judges left out go
            merged["protocols"] = {k: v for k, v in current.protocols.items() if k in fields["panel"]}
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
