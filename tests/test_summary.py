from telcotune.artifacts.io import write_record
from telcotune.artifacts.ranking import BootstrapSettings, Ranking
from telcotune.artifacts.run import read_finished_run
from telcotune.artifacts.sweep import SweepSummary
from telcotune.config import SweepRun, TrainConfig
from telcotune.paths import StudyPaths
from telcotune.summary import summary_rows
from telcotune.train.sweep import sweep_row

from . import fake_study as fake


def study(tmp_path, judge_means):
    paths = StudyPaths(tmp_path)
    rows = []
    for name, loss, energy_j in (("a", 0.9, 720.0), ("b", 0.7, 1080.0)):
        settings = TrainConfig(r=8, targets="qv")
        run = fake.write_run(paths.run(name), settings, fake.run_metrics(loss),
                             energy=fake.run_energy(energy_j * 0.9, energy_j * 0.1, 36_000))
        rows.append(sweep_row(SweepRun(name=name, **settings.model_dump()), read_finished_run(run)))
    write_record(paths.sweep_paths.summary, SweepSummary(model="m", data_dir="d", max_steps_override=None,
                                                        runs_total=2, runs_finished=2, pending=[], runs=rows))
    scores = dict(judge_means)
    losses = {"a": 0.9, "b": 0.7}
    section = fake.judge_section("rubric", losses, scores, (-0.5, 0.5))
    write_record(paths.eval_paths.ranking, Ranking(
        runs=list(scores), val_loss=losses, loss_order=["b", "a"], prompt_sets={"test": 5}, judges={"rubric": section},
        agreement=None, bootstrap=BootstrapSettings(n_resamples=200, seed=0), finding=fake.finding({"rubric": section})))
    return paths


def test_summary_names_best_by_judge_loss_and_energy(tmp_path):
    rows = summary_rows(study(tmp_path, [("a", 7.5), ("base", 7.0), ("b", 6.0)]))
    assert ("best by rubric", "a", "score 7.50") in rows
    assert ("best by validation loss", "b", "loss 0.7000") in rows
    assert ("least training energy", "a", "0.20 Wh (estimated)") in rows
    finding = next(detail for criterion, _, detail in rows if criterion == "finding (rubric)")
    assert finding.startswith("The lowest-loss run (b, loss 0.700) ranked 2nd of 2 by rubric")


def test_summary_says_a_judge_that_ties_every_run_is_left_out_and_why(tmp_path):
    rows = summary_rows(study(tmp_path, [("a", 1.0), ("b", 1.0)]))
    assert ("rubric", "left out", "cannot discriminate: no spread: every run got the same score") in rows
    assert not any(criterion.startswith(("best by rubric", "finding (rubric)")) for criterion, _, _ in rows)
    recommended = next(row for row in rows if row[0] == "recommended")
    assert recommended[1] == "none" and "no judge that can discriminate compared the runs" in recommended[2]
    assert "Left out as unable to discriminate: rubric (no spread" in recommended[2]
    headline = next(detail for criterion, _, detail in rows if criterion == "finding")
    assert "Left out of every conclusion as unable to discriminate: rubric (no spread" in headline
