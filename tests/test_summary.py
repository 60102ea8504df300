from telcotune.fsio import write_json
from telcotune.paths import StudyPaths
from telcotune.summary import summary_rows


def study(tmp_path, judge_means):
    paths = StudyPaths(tmp_path)
    write_json(paths.sweep / "sweep.json", {"runs": [
        {"name": "a", "best_val_loss": 0.9, "energy_kwh": 2e-4, "energy_method": "estimated"},
        {"name": "b", "best_val_loss": 0.7, "energy_kwh": 3e-4, "energy_method": "estimated"},
    ]})
    entries = [{"run": run, "mean": mean} for run, mean in judge_means]
    write_json(paths.eval / "ranking.json", {"judges": {"rubric": {
        "pointwise": {"entries": entries}, "loss_vs_judge": {"plain_finding": "computed sentence"}}}})
    return paths


def test_summary_names_best_by_judge_loss_and_energy(tmp_path):
    rows = summary_rows(study(tmp_path, [("a", 7.5), ("base", 7.0), ("b", 6.0)]))
    assert ("best by rubric", "a", "score 7.50") in rows
    assert ("best by validation loss", "b", "loss 0.7000") in rows
    assert ("least training energy", "a", "0.20 Wh (estimated)") in rows
    assert ("finding (rubric)", "", "computed sentence") in rows


def test_summary_says_when_a_judge_ties_every_run(tmp_path):
    rows = summary_rows(study(tmp_path, [("a", 1.0), ("b", 1.0)]))
    assert ("best by rubric", "(all tied)", "every run scored 1.00") in rows
