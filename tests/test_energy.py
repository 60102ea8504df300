"""Energy metering: summary math, method precedence, every meter's failure path.

The one real CodeCarbon run takes ~4 s (first hardware probe in a process, then a 1.5 s busy
loop); everything else uses ReplayMeter, a fake pynvml or a fake tracker.
"""

from __future__ import annotations

import json
import sys
import time
import types

import pytest

from telcotune.config import EnergyConfig
from telcotune.energy import (
    CodeCarbonMeter, EnergyReading, MeterUnavailable, NullMeter, NvmlMeter, ReplayMeter,
    combine_methods, make_meter, window,
)
from telcotune.energy.summary import answers_energy, data_energy, judge_energy, per_unit, summarize
from telcotune.artifacts.energy import AnswersEnergy
from telcotune.artifacts.io import read_record, write_record
from telcotune.energy import codecarbon_meter
from telcotune.energy.capabilities import detect_rapl, machine_energy_note
from telcotune.energy.codecarbon_reading import to_reading
from telcotune.energy.codecarbon_sources import component_sources
from telcotune.errors import ConfigError
from telcotune.fsio import read_json


def reading(phase, method="measured", energy_j=10.0, duration_s=2.0, co2_kg=None, reason=None):
    return EnergyReading(phase=phase, duration_s=duration_s, method=method,
                         energy_j=None if method == "missing" else energy_j, co2_kg=co2_kg,
                         missing_reason=reason)


def busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


# --- methods and summary -------------------------------------------------------------------

@pytest.mark.parametrize("methods, expected", [
    (["measured", "measured"], "measured"),
    (["measured", "estimated"], "estimated"),
    (["estimated", "missing", "measured"], "missing"),
    ([], "missing"),
])
def test_combine_methods_takes_the_weakest(methods, expected):
    assert combine_methods(methods) == expected


def test_summary_math_with_a_replay_meter():
    meter = ReplayMeter(power_w=25.0, duration_s=2.0)
    for phase in ("train", "validation"):
        with window(meter, phase):
            pass
    out = answers_energy(meter.readings, generated_tokens=200)
    assert list(out.phases) == ["train", "validation"]
    assert out.phases["train"].energy_j == pytest.approx(50.0)
    assert out.phases["train"].components_method == {"cpu": "measured"}
    total = out.total
    assert total.energy_j == pytest.approx(100.0)
    assert total.energy_kwh == pytest.approx(100.0 / 3.6e6)
    assert total.duration_s == pytest.approx(4.0)
    assert total.avg_power_w == pytest.approx(25.0)
    assert total.co2_kg is None  # replay gives no CO2: not a 0
    assert out.method == "measured" and out.missing_reason is None
    assert out.j_per_generated_token == pytest.approx(0.5) and out.generated_tokens == 200


def test_energy_per_unit_is_named_by_its_unit():
    readings = [reading("generation", "estimated")]
    assert data_energy(readings, conversations=4).j_per_conversation == pytest.approx(2.5)
    assert judge_energy(readings, judgments=10).j_per_judgment == pytest.approx(1.0)
    assert judge_energy(readings, judgments=0).j_per_judgment is None  # nothing judged: no figure, not 0


def test_summary_sums_co2_and_takes_estimated_over_measured():
    out = summarize([reading("a", co2_kg=1e-6), reading("b", "estimated", 30.0, co2_kg=2e-6)])
    assert out["method"] == "estimated"
    assert out["total"]["energy_j"] == pytest.approx(40.0)
    assert out["total"]["co2_kg"] == pytest.approx(3e-6)


def test_one_missing_phase_makes_the_total_missing_not_a_partial_sum():
    readings = [reading("train"), reading("validation", "missing", reason="meter broke"),
                reading("extra", "estimated")]
    out = answers_energy(readings, generated_tokens=100)
    assert out.method == "missing"
    assert out.total.energy_j is None and out.total.energy_kwh is None
    assert out.total.avg_power_w is None and out.total.co2_kg is None
    assert out.total.duration_s == pytest.approx(6.0)  # time is always known
    assert out.j_per_generated_token is None
    assert out.missing_reason == "validation: meter broke"
    assert out.phases["train"].energy_j == 10.0  # phases keep their own figures


def test_summary_of_nothing_is_missing():
    out = summarize([])
    assert out["method"] == "missing" and out["missing_reason"] == "no phase was metered"
    assert out["total"]["energy_j"] is None


def test_summary_rejects_duplicate_and_inconsistent_phases():
    with pytest.raises(ValueError, match="twice"):
        summarize([reading("train"), reading("train")])
    bad = EnergyReading(phase="x", duration_s=1.0, method="measured")  # measured without a figure
    with pytest.raises(ValueError, match="missing iff no figure"):
        summarize([bad])
    with pytest.raises(ValueError, match=">= 0"):
        per_unit(1.0, -1)


def test_energy_records_round_trip_through_their_file(tmp_path):
    record = answers_energy([reading("inference", "estimated")], generated_tokens=5)
    path = write_record(tmp_path / "run" / "energy.json", record)
    assert read_record(path, AnswersEnergy) == record
    assert [p.name for p in path.parent.iterdir()] == ["energy.json"]  # no temp file left


# --- NullMeter, window(), ReplayMeter ------------------------------------------------------

def test_null_meter_gives_missing_with_a_reason_and_no_numbers():
    meter = NullMeter()
    with window(meter, "train") as w:
        pass
    r = w.reading
    assert r.method == "missing" and "energy.meter: none" in r.missing_reason
    assert r.energy_j is None and r.co2_kg is None and r.components_j == {}
    assert r.duration_s >= 0


def test_window_fills_the_reading_even_when_the_block_raises():
    meter = ReplayMeter(power_w=10.0, duration_s=1.0)
    with pytest.raises(RuntimeError):
        with window(meter, "train") as w:
            raise RuntimeError("training crashed")
    assert w.reading is not None and w.reading.energy_j == pytest.approx(10.0)


def test_replay_meter_scripted_and_missing_modes():
    meter = ReplayMeter(readings=[reading("whatever", "estimated", 7.0)])
    meter.begin_window("judge")
    assert meter.end_window("judge").phase == "judge"
    meter.begin_window("again")
    with pytest.raises(ValueError, match="exhausted"):
        meter.end_window("again")
    missing = ReplayMeter(power_w=5.0, method="missing")
    missing.begin_window("x")
    assert missing.end_window("x").missing_reason == "replay: scripted missing"
    with pytest.raises(ValueError):
        ReplayMeter()


# --- NvmlMeter with a fake pynvml -----------------------------------------------------------

class FakeNvmlError(Exception):
    pass


def fake_pynvml(counters_mj: list[list[int]], init_error: Exception | None = None):
    """counters_mj[device] is the sequence of counter values successive reads return."""
    reads = [iter(values) for values in counters_mj]

    def energy(handle):
        value = next(reads[handle])
        if isinstance(value, Exception):
            raise value
        return value

    def init():
        if init_error is not None:
            raise init_error

    return types.SimpleNamespace(
        nvmlInit=init, nvmlShutdown=lambda: None, nvmlDeviceGetCount=lambda: len(counters_mj),
        nvmlDeviceGetHandleByIndex=lambda i: i, nvmlDeviceGetTotalEnergyConsumption=energy,
        nvmlDeviceGetName=lambda h: b"Fake GPU",
    )


def test_nvml_meter_measures_counter_deltas(monkeypatch):
    # read 1: probe at construction; read 2: begin; read 3: end
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml([[0, 1_000, 61_000], [5, 5_000, 25_000]]))
    meter = NvmlMeter()
    with window(meter, "train") as w:
        pass
    r = w.reading
    assert r.method == "measured" and r.source == "nvml:gpu=0+1"
    assert r.energy_j == pytest.approx(60.0 + 20.0)
    assert r.components_j == {"gpu": pytest.approx(80.0)}
    assert r.components_method == {"gpu": "measured"}


def test_nvml_meter_device_subset(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml([[0, 0, 0], [0, 100, 2_100]]))
    meter = NvmlMeter(device_indices=[1])
    meter.begin_window("w")
    assert meter.end_window("w").energy_j == pytest.approx(2.0)


@pytest.mark.parametrize("values, reason", [
    ([0, 500, 500], "did not advance"),
    ([0, 900, 100], "went backwards"),
    ([0, 100, FakeNvmlError("gpu lost")], "read failed at end"),
    ([0, FakeNvmlError("gpu lost"), 100], "read failed at begin"),
])
def test_nvml_meter_never_reports_a_silent_zero(monkeypatch, values, reason):
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml([values]))
    meter = NvmlMeter()
    meter.begin_window("w")
    r = meter.end_window("w")
    assert r.method == "missing" and reason in r.missing_reason and r.energy_j is None


def test_nvml_meter_unavailable_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml([[0]], init_error=FakeNvmlError("no driver")))
    with pytest.raises(MeterUnavailable, match="no driver"):
        NvmlMeter()
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml([[FakeNvmlError("Not Supported")]]))
    with pytest.raises(MeterUnavailable, match="counter unreadable"):
        NvmlMeter()
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml([[0]]))
    with pytest.raises(MeterUnavailable, match="not among"):
        NvmlMeter(device_indices=[3])


def test_nvml_meter_on_this_machine_raises_not_crashes():
    if detect_nvml_present():
        pytest.skip("a real GPU is present")
    with pytest.raises(MeterUnavailable, match="NVML"):
        NvmlMeter()


def detect_nvml_present() -> bool:
    from telcotune.energy.capabilities import detect_nvml

    return bool(detect_nvml().get("gpus"))


# --- CodeCarbon: how a reading is classified ------------------------------------------------

def hw(kind: str, **attrs):
    return type(kind, (), attrs)()


def emissions(cpu_kwh=1e-6, gpu_kwh=0.0, ram_kwh=1e-6, duration=2.0, co2=1e-7):
    return types.SimpleNamespace(cpu_energy=cpu_kwh, gpu_energy=gpu_kwh, ram_energy=ram_kwh,
                                 energy_consumed=cpu_kwh + gpu_kwh + ram_kwh, duration=duration,
                                 emissions=co2)


def test_estimated_cpu_and_measured_gpu_is_estimated_overall_with_per_component_detail():
    gpu = hw("GPU", devices=types.SimpleNamespace(devices=[hw("NvidiaGPUDevice", _use_power_fallback=False)]))
    sources = component_sources([hw("RAM", _force_ram_power=None), hw("CPU", _mode="cpu_load"), gpu])
    r = to_reading("train", emissions(gpu_kwh=5e-6), sources, "machine", 2.1)
    assert r.method == "estimated"
    assert r.components_method == {"cpu": "estimated", "gpu": "measured", "ram": "estimated"}
    assert r.source == "codecarbon:cpu=tdp-load,gpu=nvml,ram=estimate,tracking=machine"
    assert r.energy_j == pytest.approx(7e-6 * 3.6e6) and r.duration_s == 2.0
    assert r.co2_kg == pytest.approx(1e-7)


def test_all_contributing_components_measured_is_measured():
    sources = component_sources([hw("CPU", _mode="intel_rapl"), hw("GPU")])
    r = to_reading("train", emissions(ram_kwh=0.0, gpu_kwh=2e-6), sources, "machine", 2.0)
    assert r.method == "measured" and r.source.startswith("codecarbon:cpu=rapl,gpu=nvml")


def test_no_gpu_is_left_out_not_shown_as_zero():
    sources = component_sources([hw("CPU", _mode="constant", _is_generic_tdp=True), hw("RAM")])
    r = to_reading("train", emissions(), sources, "process", 2.0)
    assert set(r.components_j) == {"cpu", "ram"}
    assert "cpu=generic-tdp-constant" in r.source and r.source.endswith("tracking=process")


def test_unknown_hardware_is_never_claimed_measured_and_zero_energy_is_missing():
    assert to_reading("t", emissions(), {}, "machine", 2.0).method == "estimated"
    r = to_reading("t", emissions(cpu_kwh=0.0, ram_kwh=0.0), {}, "machine", 2.0)
    assert r.method == "missing" and "0.0 kWh" in r.missing_reason


# --- CodeCarbonMeter: the real thing, and its failure paths ---------------------------------

def test_codecarbon_meter_real_run_is_estimated_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    meter = CodeCarbonMeter(country="USA", interval_s=1.0)
    with window(meter, "busy") as w:
        busy(1.5)
    r = w.reading
    # RAM is always a CodeCarbon estimate, so a CodeCarbon total is never fully measured.
    assert r.method == "estimated", r.missing_reason
    assert r.energy_j > 0 and r.co2_kg > 0 and r.duration_s == pytest.approx(1.5, abs=0.3)
    assert r.source.startswith("codecarbon:cpu=") and "ram=estimate" in r.source
    assert r.components_method["ram"] == "estimated"
    if not detect_rapl()["readable"]:
        assert r.components_method["cpu"] == "estimated"
    assert sum(r.components_j.values()) == pytest.approx(r.energy_j)
    with window(meter, "instant") as short:  # far shorter than the 1 s sampling
        pass
    s = short.reading
    assert (s.method == "missing" and s.missing_reason) or s.energy_j > 0
    assert list(tmp_path.iterdir()) == []


def test_codecarbon_failures_become_missing_readings(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    meter = CodeCarbonMeter()

    def boom(*args, **kwargs):
        raise RuntimeError("sensor exploded")

    monkeypatch.setattr(meter._tracker, "stop_task", boom)
    with window(meter, "train") as w:
        pass
    assert w.reading.method == "missing" and w.reading.energy_j is None
    assert "stop_task failed: RuntimeError: sensor exploded" in w.reading.missing_reason
    assert "recorded as missing" in caplog.text
    # the broken tracker was dropped: the next window works on a fresh one
    with window(meter, "validation") as again:
        pass
    assert again.reading.method == "estimated"
    assert list(tmp_path.iterdir()) == []


class FakeTracker:
    def __init__(self, start_error=None, stop_result=None):
        self.start_error, self.stop_result = start_error, stop_result
        self._hardware = [hw("CPU", _mode="cpu_load")]

    def start_task(self, name):
        if self.start_error:
            raise self.start_error

    def stop_task(self, name=None):
        return self.stop_result


def test_codecarbon_start_failure_and_empty_result_are_missing(monkeypatch):
    trackers = [FakeTracker(start_error=OSError("busy")), FakeTracker(stop_result=None),
                FakeTracker(stop_result=emissions(ram_kwh=0.0))]
    monkeypatch.setattr(codecarbon_meter, "new_tracker", lambda *a: trackers.pop(0))
    meter = CodeCarbonMeter()
    meter.begin_window("a")
    assert "start_task failed: OSError: busy" in meter.end_window("a").missing_reason
    meter.begin_window("b")
    assert "no data" in meter.end_window("b").missing_reason
    meter.begin_window("c")
    assert meter.end_window("c").method == "estimated"  # third, fresh tracker
    assert trackers == []


def test_codecarbon_meter_misuse_raises(monkeypatch):
    monkeypatch.setattr(codecarbon_meter, "new_tracker", lambda *a: FakeTracker(stop_result=emissions()))
    meter = CodeCarbonMeter()
    meter.begin_window("a")
    with pytest.raises(ValueError, match="still open"):
        meter.begin_window("b")
    with pytest.raises(ValueError, match="not begun"):
        meter.end_window("b")


# --- factory and capabilities ----------------------------------------------------------------

def test_make_meter_rules(monkeypatch):
    assert isinstance(make_meter(EnergyConfig(meter="none")), NullMeter)
    with pytest.raises(ConfigError, match="XYZ"):
        make_meter(EnergyConfig(country="XYZ"))

    def unavailable(*args):
        raise MeterUnavailable("codecarbon broke")

    monkeypatch.setattr(codecarbon_meter, "new_tracker", unavailable)
    meter = make_meter(EnergyConfig())
    assert isinstance(meter, NullMeter) and "codecarbon broke" in meter.reason


def test_capabilities_and_note(tmp_path):
    assert detect_rapl(str(tmp_path / "nothing*"))["present"] is False
    counter = tmp_path / "intel-rapl:0"
    counter.write_text("12345\n")
    assert detect_rapl(str(tmp_path / "intel-rapl*")) == {"present": True, "readable": True, "domains": 1}
    note = machine_energy_note({"rapl": {"readable": False, "reason": "no RAPL"},
                                "nvml": {"present": True, "gpus": 2}})
    assert "estimated" in note and "no RAPL" in note and "2 GPU(s)" in note
    assert isinstance(machine_energy_note(), str)
