"""The offline Presidio analyzer: a blank spaCy pipeline (tokens and lower-case lemmas for
context words, no model, nothing downloaded) serves the pattern recognizers; an installed
spaCy model is loaded instead only when `ner_model` names one, to find names of people.
The e-mail recognizer checks domains against tldextract's bundled suffix list, so no
public-suffix list is fetched either."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import spacy
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import SpacyRecognizer
from spacy.language import Language

from ..errors import ConfigError
from ..config import PrivacyConfig
from .recognizers import WELL_KNOWN_VALUES, Entry, build_entries
from .spans import Match, Span, resolve

LANGUAGE = "en"
SCORE_THRESHOLD = 0.3
"""Presidio's weakest useful score is 0.4 (a phone number without context): keep it."""
BLANK_MODEL = "blank:en"


@Language.component("telcotune_lower_lemma")
def _lower_lemma(doc):
    """A blank pipeline has no lemmatizer; Presidio's context words compare lemmas."""
    for token in doc:
        token.lemma_ = token.lower_
    return doc


class BlankSpacyNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine on `spacy.blank('en')`: tokenisation only, never a download."""

    def load(self) -> None:
        nlp = spacy.blank(LANGUAGE)
        nlp.add_pipe("telcotune_lower_lemma")
        self.nlp = {LANGUAGE: nlp}


def _ner_configuration() -> NerModelConfiguration:
    # Only people's names are taken from NER; places, dates and organisations stay.
    return NerModelConfiguration(
        model_to_presidio_entity_mapping={"PERSON": "PERSON", "PER": "PERSON"},
        labels_to_ignore=["CARDINAL", "DATE", "EVENT", "FAC", "GPE", "LANGUAGE", "LAW", "LOC", "MONEY",
                          "NORP", "ORDINAL", "ORG", "PERCENT", "PRODUCT", "QUANTITY", "TIME", "WORK_OF_ART",
                          "MISC"],
    )


def _nlp_engine(ner_model: str | None) -> SpacyNlpEngine:
    if ner_model is None:
        engine = BlankSpacyNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": BLANK_MODEL}],
                                     ner_model_configuration=_ner_configuration())
    else:
        if not (spacy.util.is_package(ner_model) or Path(ner_model).is_dir()):
            raise ConfigError(f"privacy.ner_model: spaCy model {ner_model!r} is not installed (nor a folder); "
                              "install it on this machine or leave ner_model unset (models are never downloaded)")
        engine = SpacyNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": ner_model}],
                                ner_model_configuration=_ner_configuration())
    engine.load()
    return engine


@dataclass
class PrivacyEngine:
    """Finds the spans to redact in a text; also the strict recognizers alone for the verifier."""

    analyzer: AnalyzerEngine
    entries: list[Entry]
    allow_list: frozenset[str]
    config: PrivacyConfig

    @property
    def ner_enabled(self) -> bool:
        return self.config.ner_model is not None

    @property
    def entities(self) -> list[str]:
        names = {e.entity for e in self.entries} | ({"PERSON"} if self.ner_enabled else set())
        return sorted(names)

    def spans(self, text: str) -> list[Span]:
        results = self.analyzer.analyze(text, language=LANGUAGE, entities=self.entities,
                                        score_threshold=SCORE_THRESHOLD)
        return resolve(text, (Match(r.start, r.end, r.entity_type, r.score) for r in results), self.allow_list)

    def strict_spans(self, text: str) -> list[Span]:
        """What the strict recognizers alone find (allow-listed and ruled-out values aside)."""
        found = []
        for entry in self.entries:
            if entry.strict:
                found += [Match(r.start, r.end, r.entity_type, r.score)
                          for r in entry.recognizer.analyze(text, [entry.entity], None)
                          if r.score >= SCORE_THRESHOLD]
        return resolve(text, found, self.allow_list)


def build_engine(cfg: PrivacyConfig | None = None) -> PrivacyEngine:
    """The analyzer for `cfg`; building it reads nothing from the network."""
    cfg = cfg or PrivacyConfig()
    entries = build_entries(cfg)
    recognizers = [e.recognizer for e in entries]
    if cfg.ner_model is not None:
        recognizers.append(SpacyRecognizer(supported_entities=["PERSON"]))
    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=[LANGUAGE])
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=_nlp_engine(cfg.ner_model),
                              supported_languages=[LANGUAGE])
    allow = frozenset(v.strip().lower() for v in (*WELL_KNOWN_VALUES, *cfg.allow_list))
    return PrivacyEngine(analyzer, entries, allow, cfg)
