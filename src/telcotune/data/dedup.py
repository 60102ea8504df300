"""Exact and near-duplicate removal: normalised-text hashes, then word 5-gram Jaccard similarity,
with datasketch's MinHash LSH finding the candidates (deterministic: crc32 shingle hashes,
seeded permutations)."""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash, MinHashLSH

_WORD = re.compile(r"[a-z0-9']+")
_PERMUTATION_SEED = 1


@dataclass(frozen=True)
class DedupResult:
    keep: list[int]
    exact: list[int]
    """Indices removed as exact duplicates of an earlier text."""
    near: list[int]
    """Indices removed as near duplicates (Jaccard >= threshold) of an earlier kept text."""


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _shingle_hashes(words: list[str], n: int) -> list[int]:
    """crc32 hashes of the text's distinct word n-grams (one n-gram for a shorter text)."""
    grams = {" ".join(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}
    return [zlib.crc32(g.encode()) for g in grams]


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sets of hashes."""
    a, b = np.unique(a), np.unique(b)  # distinct n-grams can share a crc32 (rarely)
    shared = len(np.intersect1d(a, b, assume_unique=True))
    return shared / (len(a) + len(b) - shared)


def deduplicate(texts: list[str], threshold: float = 0.85, shingle_words: int = 5,
                num_perm: int = 64, bands: int = 8) -> DedupResult:
    """Keep the first of each group of duplicates. LSH proposes the kept texts that share a
    band of MinHash values with a text; the exact Jaccard of their shingle sets decides, so an
    estimate's noise never removes a conversation that is not a near duplicate."""
    # The shingles are hashed once with crc32 (six times cheaper than datasketch's default
    # sha1) and MinHash takes those hashes as they are (`hashfunc=int`). One MinHash is
    # cleared and refilled for each text: the index keeps only its band hashes, and building a
    # MinHash per text would re-check its permutations every time.
    sig = MinHash(num_perm=num_perm, seed=_PERMUTATION_SEED, hashfunc=int)
    lsh = MinHashLSH(num_perm=num_perm, params=(bands, num_perm // bands))
    seen_exact: set[str] = set()
    kept: dict[int, np.ndarray] = {}
    exact, near = [], []
    for i, text in enumerate(texts):
        words = _words(text)
        digest = hashlib.sha1(" ".join(words).encode()).hexdigest()
        if digest in seen_exact:
            exact.append(i)
            continue
        seen_exact.add(digest)
        hashes = _shingle_hashes(words, shingle_words)
        sig.clear()
        sig.update_batch(hashes)
        shingles = np.array(hashes, dtype=np.uint32)
        if any(jaccard(shingles, kept[j]) >= threshold for j in lsh.query(sig)):
            near.append(i)
            continue
        kept[i] = shingles
        lsh.insert(i, sig)
    return DedupResult(keep=list(kept), exact=exact, near=near)
