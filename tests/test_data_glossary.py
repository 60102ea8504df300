import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from telcotune.data.glossary import load_glossary
from telcotune.data.scenarios import build_scenarios
from telcotune.errors import GlossaryError

from .conftest import ROOT

SHIPPED = ROOT / "src/telcotune/glossaries/telecom.yaml"


def small_glossary() -> dict:
    return {
        "version": 1,
        "domain": "telecom customer support",
        "failure_causes": [{"id": "misconfiguration", "description": "A setting is wrong."},
                           {"id": "network-outage", "description": "The network has a fault."}],
        "usage_contexts": [{"id": "home", "description": "The customer is at home."}],
        "terms": [
            {"term": "APN", "expansion": "Access Point Name", "category": "mobile-data",
             "definition": "The gateway settings a phone uses to reach the operator's data network.",
             "symptoms": ["Mobile data shows connected but no page loads"],
             "resolution_steps": ["Check the APN matches the operator's values", "Restart the phone"],
             "escalate_when": "The APN is correct and data still fails."},
            {"term": "DNS", "category": "fixed-broadband",
             "definition": "The system that turns website names into IP addresses.",
             "symptoms": ["Websites do not load but apps work"],
             "resolution_steps": ["Restart the router", "Set the router's DNS to automatic"],
             "escalate_when": "Websites still fail on every device."},
        ],
    }


def write_glossary(tmp_path: Path, data) -> Path:
    path = tmp_path / "glossary.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def test_shipped_glossary_gives_1560_scenarios():
    glossary = load_glossary(SHIPPED)
    assert (len(glossary.terms), len(glossary.failure_causes), len(glossary.usage_contexts)) == (52, 10, 3)
    scenarios = build_scenarios(glossary)
    assert len(scenarios) == 1560
    assert len({s.id for s in scenarios}) == 1560
    assert scenarios[0].id == f"{glossary.terms[0].slug}--{glossary.failure_causes[0].id}--{glossary.usage_contexts[0].id}"


def test_exclusions_remove_matching_cells(tmp_path):
    data = small_glossary()
    data["exclude"] = [{"term": "DNS", "cause": "network-outage"}]
    scenarios = build_scenarios(load_glossary(write_glossary(tmp_path, data)))
    assert len(scenarios) == 3
    assert "dns--network-outage--home" not in {s.id for s in scenarios}


def _broken(mutate):
    data = small_glossary()
    mutate(data)
    return data


BROKEN = {
    "not-yaml": ("terms: [unclosed\n  - {", r"glossary.yaml: not valid YAML"),
    "missing-field": (_broken(lambda d: d["terms"][1].pop("definition")),
                      r"glossary.yaml: terms\[1\] \(DNS\)\.definition: missing field"),
    "too-few-steps": (_broken(lambda d: d["terms"][0].update(resolution_steps=["only one"])),
                      r"terms\[0\] \(APN\)\.resolution_steps: List should have at least 2 items"),
    "duplicate-term": (_broken(lambda d: d["terms"].append(dict(d["terms"][0], term="apn"))),
                       r"terms\[2\] \(apn\): duplicate of terms\[0\] \(APN\): both have the id 'apn'"),
    "empty-axis": (_broken(lambda d: d.update(usage_contexts=[])),
                   r"usage_contexts: List should have at least 1 item"),
    "unknown-exclusion": (_broken(lambda d: d.update(exclude=[{"term": "FTTH"}])),
                          r"exclude\[0\]\.term: unknown term 'FTTH'"),
    "bad-slug": (_broken(lambda d: d["failure_causes"][0].update(id="Mis Config")),
                 r"failure_causes\[0\] \(Mis Config\)\.id: String should match pattern"),
    "unknown-field": (_broken(lambda d: d["terms"][0].update(colour="red")),
                      r"terms\[0\] \(APN\)\.colour: unknown field"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_malformed_glossary_names_file_entry_and_field(tmp_path, case):
    data, message = BROKEN[case]
    with pytest.raises(GlossaryError, match=message):
        load_glossary(write_glossary(tmp_path, data))


@pytest.mark.parametrize("case", ["not-yaml", "missing-field", "duplicate-term", "empty-axis", "unknown-exclusion"])
def test_data_command_rejects_bad_glossary_and_writes_nothing(tmp_path, case):
    data, message = BROKEN[case]
    glossary = write_glossary(tmp_path, data)
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "telcotune", "data", "--glossary", str(glossary), "--out", str(out), "--quiet"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "glossary.yaml" in result.stderr
    assert not out.exists()


def test_term_ids_are_unique_and_non_empty_for_any_unicode_term():
    from telcotune.data.glossary import slugify

    terms = ["漫游", "数据", "📶", "Ärger", "Örger", "Arger", "eSIM", "Wi-Fi calling"]
    ids = [slugify(t) for t in terms]
    assert len(set(ids)) == len(ids) and all(ids) and not any(i.startswith("-") for i in ids)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i) for i in ids)
    assert slugify("eSIM") == "esim" and slugify("Wi-Fi calling") == "wi-fi-calling"  # ASCII ids unchanged
    assert slugify("Ärger") == slugify("ärger")  # the same term: a real duplicate


def test_a_real_duplicate_names_both_entries(tmp_path):
    data = small_glossary()
    data["terms"].append(dict(data["terms"][0], term="ＡＰＮ"))  # full-width: the same term after NFKC
    with pytest.raises(GlossaryError, match=r"terms\[2\] \(ＡＰＮ\): duplicate of terms\[0\] \(APN\)"):
        load_glossary(write_glossary(tmp_path, data))


def test_exclusions_that_remove_every_cell_write_nothing(tmp_path):
    from telcotune.config import DataConfig
    from telcotune.data.stage import run_data_stage

    data = small_glossary()
    data["exclude"] = [{"cause": c["id"]} for c in data["failure_causes"]]
    glossary = write_glossary(tmp_path, data)
    with pytest.raises(GlossaryError, match="no scenarios left after exclusions"):
        run_data_stage(DataConfig(glossary=str(glossary)), tmp_path / "data", progress=False)
    assert not (tmp_path / "data").exists()
