"""Device, precision and threads: bf16 autocast where the hardware has it, fp32 master weights."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import torch


def pick_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def cpu_has_bf16() -> bool:
    """Native bf16 matmul on this CPU: AVX512-BF16 or AMX (else bf16 is emulated and slow)."""
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        fn = getattr(torch.cpu, probe, None)
        if fn is not None:
            try:
                if fn():
                    return True
            except Exception:  # pragma: no cover - probe unavailable on this build
                pass
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return False
    return any(f in flags.split() for f in ("avx512_bf16", "amx_bf16"))


BF16_MIN_SPEEDUP = 1.2
"""On a CPU, `auto` picks bf16 only when a bf16 matmul is at least this much faster than fp32."""
_probe: dict[str, float] | None = None


def matmul_probe(n: int = 1024, rounds: int = 3) -> dict[str, float]:
    """Best-of-`rounds` TFLOP/s of an n x n matmul in bf16 and in fp32 (interleaved, ~0.1 s).
    Cached per process, so every run of a sweep makes the same choice."""
    global _probe
    if _probe is None:
        g = torch.Generator().manual_seed(0)  # never touch the global RNG (dropout, resume)
        a32, b32 = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
        a16, b16 = a32.bfloat16(), b32.bfloat16()
        best = {"bf16": float("inf"), "fp32": float("inf")}
        for _ in range(rounds + 1):  # the first round warms up
            for name, (a, b) in (("bf16", (a16, b16)), ("fp32", (a32, b32))):
                t = time.perf_counter()
                a @ b
                best[name] = min(best[name], time.perf_counter() - t)
        flop = 2 * n**3
        _probe = {"bf16_tflops": flop / best["bf16"] / 1e12, "fp32_tflops": flop / best["fp32"] / 1e12,
                  "bf16_speedup": best["fp32"] / best["bf16"]}
    return dict(_probe)


def resolve_precision(precision: str, device: torch.device) -> str:
    """`auto` -> `bf16` on a CUDA GPU with bf16; on a CPU, `bf16` when it has native bf16
    (AVX512-BF16 or AMX) AND a quick matmul probe shows bf16 is really faster there (on some
    virtual machines the bf16 kernels run at half the fp32 rate); else `fp32`."""
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if not cpu_has_bf16():
        return "fp32"
    return "bf16" if matmul_probe()["bf16_speedup"] >= BF16_MIN_SPEEDUP else "fp32"


def autocast(precision: str, device: torch.device):
    """Mixed precision for the forward pass: matmuls in bf16, weights and optimizer in fp32."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def available_threads() -> int:
    """The CPUs this process may run on, at most OMP_NUM_THREADS when that is set (a Ray task
    sets it to the CPUs it reserved, so concurrent runs on one machine do not oversubscribe it)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    limit = os.environ.get("OMP_NUM_THREADS", "")
    return max(1, min(n, int(limit))) if limit.isdigit() and int(limit) > 0 else n


SMALL_MODEL_PARAMS = 20_000_000
"""Below this size a model's matmuls are too small to split across threads, and on a busy
machine every op would wait at an OpenMP barrier for a descheduled thread: one thread then."""


def use_threads(n_params: int | None = None) -> int:
    """Use every CPU this process may run on (one for a tiny model); returns the count."""
    n = 1 if n_params is not None and n_params < SMALL_MODEL_PARAMS else available_threads()
    torch.set_num_threads(n)
    return n


_MMAP_THRESHOLD_MAX = 32 << 20  # glibc's ceiling for M_MMAP_THRESHOLD on 64-bit


def keep_freed_memory() -> bool:
    """Make glibc keep freed memory for reuse instead of returning it to the OS.

    By default every large tensor (activations of tens of MB) is mmap-ed and unmapped again, so
    each training step page-faults gigabytes back in (measured: ~0.8 M minor faults and 1-3 s
    of system time per SmolLM2 step of 8 x 400 tokens); with allocations up to 32 MB served
    from the heap and the heap never trimmed, the steady state has none. The cost: the process
    keeps its peak heap until it exits. The same fix as running under jemalloc or tcmalloc,
    without a dependency. Process-wide; only on glibc (elsewhere it does nothing)."""
    import ctypes
    import platform

    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_mmap_threshold, _MMAP_THRESHOLD_MAX)) and bool(
            libc.mallopt(m_trim_threshold, 1 << 40))
    except (OSError, AttributeError):
        return False


def use_sdpa(model: torch.nn.Module, device: torch.device) -> bool:
    """On CUDA, train with PyTorch's scaled-dot-product attention (fused flash / memory-efficient
    kernels; eager attention materialises every [heads x L x L] score matrix). Models that do not
    support it keep theirs. On a CPU the loaded implementation stays (SDPA already, where the
    model supports it). Returns whether the model now uses SDPA."""
    current = getattr(model.config, "_attn_implementation", None)
    if device.type == "cuda" and current != "sdpa" and getattr(model, "_supports_sdpa", False):
        model.set_attn_implementation("sdpa")
        current = "sdpa"
    return current == "sdpa"


def reset_peak_memory(device: torch.device) -> None:
    """Start counting the accelerator's peak memory afresh (nothing to do on a CPU)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_bytes(device: torch.device) -> int | None:
    """Peak memory PyTorch allocated on the GPU since the last reset; None on a CPU (there the
    process's RSS is the measure)."""
    return int(torch.cuda.max_memory_allocated(device)) if device.type == "cuda" else None
