"""The CUDA side of training, at its boundary with fakes (no GPU here): SDPA attention is switched
on for CUDA only and only where the model supports it; peak GPU memory is read from PyTorch's
allocator on CUDA and is None on a CPU."""

from types import SimpleNamespace

import torch

from telcotune.train import precision

CUDA, CPU = torch.device("cuda"), torch.device("cpu")


class FakeModel:
    def __init__(self, implementation: str, supports_sdpa: bool = True):
        self.config = SimpleNamespace(_attn_implementation=implementation)
        self._supports_sdpa = supports_sdpa
        self.calls = []

    def set_attn_implementation(self, name):
        self.calls.append(name)
        self.config._attn_implementation = name


def test_cuda_training_switches_to_sdpa():
    model = FakeModel("eager")
    assert precision.use_sdpa(model, CUDA) and model.calls == ["sdpa"]
    already = FakeModel("sdpa")
    assert precision.use_sdpa(already, CUDA) and already.calls == []


def test_cpu_and_unsupported_models_keep_their_attention():
    cpu_model = FakeModel("eager")
    assert not precision.use_sdpa(cpu_model, CPU) and cpu_model.calls == []
    unsupported = FakeModel("eager", supports_sdpa=False)
    assert not precision.use_sdpa(unsupported, CUDA) and unsupported.calls == []


def test_peak_gpu_memory_on_cuda_only(monkeypatch):
    resets, peaks = [], iter([3 << 30])
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda device: resets.append(device))
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device: next(peaks))
    precision.reset_peak_memory(CUDA)
    assert resets == [CUDA] and precision.peak_memory_bytes(CUDA) == 3 << 30
    precision.reset_peak_memory(CPU)
    assert resets == [CUDA] and precision.peak_memory_bytes(CPU) is None
