"""Exact and near-duplicate removal: normalised-text hashes, then MinHash with banded LSH over
word 5-grams (deterministic: crc32 shingle hashes and seeded permutations)."""

from __future__ import annotations

import hashlib
import re
import zlib
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

_PRIME = (1 << 31) - 1  # a, b, h < 2^31: a*h+b < 2^62 fits uint64, and the modulus wraps often
_WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class DedupResult:
    keep: list[int]
    exact: list[int]
    """Indices removed as exact duplicates of an earlier text."""
    near: list[int]
    """Indices removed as near duplicates (estimated Jaccard >= threshold) of an earlier text."""


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _shingles(words: list[str], n: int) -> np.ndarray:
    grams = {" ".join(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}
    return np.fromiter((zlib.crc32(g.encode()) for g in grams), dtype=np.uint64, count=len(grams))


class MinHasher:
    def __init__(self, num_perm: int = 64, seed: int = 1):
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, _PRIME, size=num_perm, dtype=np.uint64)
        self.b = rng.integers(0, _PRIME, size=num_perm, dtype=np.uint64)

    def signature(self, hashes: np.ndarray) -> np.ndarray:
        return ((np.outer(hashes % _PRIME, self.a) + self.b) % _PRIME).min(axis=0)


def deduplicate(texts: list[str], threshold: float = 0.85, shingle_words: int = 5,
                num_perm: int = 64, bands: int = 8) -> DedupResult:
    rows = num_perm // bands
    hasher = MinHasher(num_perm)
    seen_exact: set[str] = set()
    buckets: dict[tuple[int, bytes], list[int]] = defaultdict(list)
    signatures: dict[int, np.ndarray] = {}
    keep, exact, near = [], [], []
    for i, text in enumerate(texts):
        words = _words(text)
        digest = hashlib.sha1(" ".join(words).encode()).hexdigest()
        if digest in seen_exact:
            exact.append(i)
            continue
        seen_exact.add(digest)
        sig = hasher.signature(_shingles(words, shingle_words))
        keys = [(b, sig[b * rows:(b + 1) * rows].tobytes()) for b in range(bands)]
        candidates = list({j for key in keys for j in buckets.get(key, ())})
        if candidates and (np.stack([signatures[j] for j in candidates]) == sig).mean(axis=1).max() >= threshold:
            near.append(i)
            continue
        keep.append(i)
        signatures[i] = sig
        for key in keys:
            buckets[key].append(i)
    return DedupResult(keep=keep, exact=exact, near=near)
