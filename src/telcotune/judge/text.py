"""Small, dependency-free text helpers for the offline judges: normalisation, content words
with a light stemmer, sentence splitting, a repetition measure, cue-phrase lists and a
glossary-name matcher.

Everything here is deterministic and cheap (one regex pass to split words, then sets, dict
look-ups and plain substring tests), so a judge can score thousands of answers per second.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+(?:['+#*]+[^\W_]*)*|[+#*]+[^\W_]*")
_COMBINING = re.compile(r"[\u0300-\u036f]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")

STOPWORDS = frozenset("""
a about above after again against all also am an and any are aren't as at be because been before
being below between both but by can can't cannot could couldn't did didn't do does doesn't doing
don't down during each either else ever every few for from further get gets got had hadn't has
hasn't have haven't having he her here hers herself him himself his how i i'd i'll i'm i've if in
into is isn't it it's its itself just let let's like may me might more most much must my myself
no nor not now of off often on once only or other our ours ourselves out over own per please
quite rather really same shall she should shouldn't so some still such than that that's the their
theirs them themselves then there there's these they they're this those through to too under
until up upon us use used uses using very via was wasn't we we'll we're we've were weren't what
when where whether which while who whom why will with within without won't would wouldn't yet
you you'd you'll you're you've your yours yourself yourselves one two
""".split())
STOPWORDS = STOPWORDS | {w.replace("'", "") for w in STOPWORDS}
"""English function words (also without apostrophes, as `normalise` writes them): ignored as
content, counted as evidence of readable English."""

GENERIC_WORDS = frozenset("""
check checks checking make sure confirm look see find try verify ensure ask tell customer
customers customer's customers first then next finally after also step steps again
""".split())
"""Words that lead many resolution steps ("Check that", "Make sure that"); they carry no
information about *which* step is meant."""

SYNONYMS = {"reboot": "restart", "switch": "turn", "cellular": "mobile", "handset": "phone",
            "smartphone": "phone", "aeroplane": "airplane", "flight": "airplane", "pick": "select",
            "choose": "select", "right": "correct", "proper": "correct", "properly": "correct",
            "configuration": "setting", "config": "setting", "configure": "set", "modem": "router",
            "parameters": "settings", "details": "settings", "incorrect": "wrong", "incorrectly": "wrong",
            "wrongly": "wrong", "type": "enter", "input": "enter", "confirm": "verify", "unlock": "unblock",
            "share": "give", "provide": "give", "eight": "8", "ten": "10", "three": "3", "attempts": "tries",
            "entries": "tries", "permanently": "permanent", "lock": "block", "locks": "block"}
"""Everyday support synonyms (a customer-support writer's, not any generator's), mapped to one stem."""


def deaccent(text: str) -> str:
    """Accents folded (café -> cafe), curly quotes straightened; case kept."""
    if not text.isascii():
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
        text = text.replace("\u2019", "'").replace("\u2018", "'")
    return text


def split_words(text: str) -> list[str]:
    """Word tokens with case kept: every run of punctuation or space splits, apostrophes inside
    words vanish ("don't" -> "dont"), '+', '#' and '*' stay (4G+, *#06#). Letters of any script
    count as word characters."""
    return [w.replace("'", "") if "'" in w else w for w in _WORD.findall(deaccent(text))]


def normalise(text: str) -> str:
    """Lower case, accents folded, every run of punctuation or space -> one space
    ('Wi-Fi' -> 'wi fi', "don't" -> 'dont')."""
    return " ".join(split_words(text)).lower()


def tokens(text: str) -> list[str]:
    """Normalised word tokens."""
    return normalise(text).split()


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A deliberately light stemmer: a plural, then -ing / -ed / -ly, then a final 'e' go, so
    related forms meet (updates / updated / updating -> updat, settings / setting -> set,
    restarted -> restart, dropped -> drop)."""
    w = SYNONYMS.get(word, word)
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("ies") and len(w) >= 5:
        w = w[:-3] + "y"
    elif w.endswith("es") and len(w) >= 5 and w[:-2].endswith(("sh", "ch", "x", "z", "ss")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) >= 4:
        w = w[:-1]
    for suffix, min_len in (("ing", 6), ("ed", 5), ("ly", 5)):
        if w.endswith(suffix) and len(w) >= min_len:
            w = w[: -len(suffix)]
            if suffix != "ly" and len(w) > 2 and w[-1] == w[-2] and w[-1] not in "ls":
                w = w[:-1]  # "dropped" -> "drop"
            break
    w = SYNONYMS.get(w, w)
    return w[:-1] if len(w) > 4 and w.endswith("e") else w


_CONTENT_STOP = STOPWORDS | GENERIC_WORDS


def content_of_tokens(toks: Iterable[str]) -> frozenset[str]:
    """Stemmed content words of normalised tokens: not function words or generic step verbs,
    not single letters."""
    return frozenset(stem(t) for t in toks if t not in _CONTENT_STOP and (len(t) > 1 or t.isdigit()))


@lru_cache(maxsize=65536)
def content_words(text: str) -> frozenset[str]:
    """Stemmed content words of a text (cached: glossary texts repeat)."""
    return content_of_tokens(tokens(text))


def recall(wanted: Iterable[str], have: frozenset[str] | set[str]) -> float:
    """Share of `wanted` found in `have` (1.0 when nothing is wanted)."""
    wanted = set(wanted)
    return len(wanted & have) / len(wanted) if wanted else 1.0


def sentences(text: str) -> list[str]:
    """Sentences and list items, stripped, non-empty."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def repetition(toks: list[str], sents: list[str], n: int = 4) -> float:
    """How much a text repeats itself, 0 (none) to ~1 (one phrase looped): the larger of the
    share of repeated word n-grams (from 8 n-grams on) and the share of duplicate sentences of
    three or more words. `toks` are its normalised tokens, `sents` its normalised sentences."""
    n_grams = len(toks) - n + 1
    gram_rep = 1 - len(set(zip(*(toks[i:] for i in range(n))))) / n_grams if n_grams >= 8 else 0.0
    sents = [s for s in sents if s.count(" ") >= 2]
    sent_rep = 1 - len(set(sents)) / len(sents) if len(sents) >= 2 else 0.0
    return max(gram_rep, sent_rep)


def has_name(norm_text: str, norm_name: str) -> bool:
    """Word-boundary match of an already-normalised name in already-normalised text."""
    return bool(norm_name) and f" {norm_name} " in f" {norm_text} "


class Cues:
    """A list of cue phrases matched on word boundaries in normalised text. Phrases are written
    naturally ("don't worry") and normalised once; a trailing '*' matches any word starting so
    ("escalat*" matches escalate, escalation). Matching is plain substring search on the text
    padded with spaces, which is far faster than one big regex alternation."""

    def __init__(self, *phrases: str):
        self.phrases = tuple(phrases)
        self._needles = tuple(
            " " + normalise(p[:-1]) if p.endswith("*") else " " + normalise(p) + " " for p in phrases)

    def first(self, padded: str) -> str | None:
        """The first cue (in list order) found in `padded` (" " + normalised text + " ")."""
        return next((self.phrases[i] for i, n in enumerate(self._needles) if n in padded), None)

    def found(self, padded: str) -> list[str]:
        """Every cue found in `padded`."""
        return [self.phrases[i] for i, n in enumerate(self._needles) if n in padded]


class NameMatcher:
    """Finds names in text on word boundaries, longest name first, and says which group (one
    glossary term: its name, expansion and aliases) each belongs to.

    Short names written in capitals in the glossary (APN, SIP, CA, CLI, 4G) are matched
    case-sensitively, so 'sip', 'ca' or 'cli' in ordinary prose do not count; every other name
    is matched case-insensitively, so 'wi-fi calling' matches 'Wi-Fi Calling'. Matching looks
    up word n-grams in a dict, so it costs the same for 10 names or 1,000."""

    def __init__(self, groups: Iterable[Iterable[str]]):
        self._groups: dict[tuple[bool, str], set[int]] = {}
        self._display: dict[tuple[bool, str], str] = {}
        # (exact?, first word) -> the word counts of the names starting with it, longest first
        self._starts: dict[tuple[bool, str], list[int]] = {}
        for gi, group in enumerate(groups):
            for name in group:
                name = (name or "").strip()
                letters = [c for c in name if c.isalpha()]
                exact = bool(letters) and all(c.isupper() for c in letters) and len(name) <= 5
                toks = split_words(name)
                if not toks:
                    continue
                if not exact:
                    toks = [t.lower() for t in toks]
                key = (exact, " ".join(toks))
                self._groups.setdefault(key, set()).add(gi)
                self._display.setdefault(key, name)
                lengths = self._starts.setdefault((exact, toks[0]), [])
                if len(toks) not in lengths:
                    lengths.append(len(toks))
                    lengths.sort(reverse=True)
        self._first_exact = frozenset(w for exact, w in self._starts if exact)
        self._first_folded = frozenset(w for exact, w in self._starts if not exact)

    def find(self, text: str | list[str]) -> dict[str, frozenset[int]]:
        """Each name found (spelt as in the glossary) -> its group indices. `text` may be given
        as its `split_words` already."""
        words = split_words(text) if isinstance(text, str) else text
        found: dict[str, frozenset[int]] = {}
        for exact, seq in ((True, words), (False, [w.lower() for w in words])):
            starts = self._first_exact if exact else self._first_folded
            free, end = 0, len(seq)  # `free`: the first word not inside an earlier match
            for i in [i for i, w in enumerate(seq) if w in starts]:
                if i < free:
                    continue
                for n in self._starts[(exact, seq[i])]:
                    if i + n <= end:
                        key = (exact, " ".join(seq[i: i + n]))
                        groups = self._groups.get(key)
                        if groups is not None:
                            found.setdefault(self._display[key], frozenset(groups))
                            free = i + n
                            break
        return {name: found[name] for name in sorted(found)}
