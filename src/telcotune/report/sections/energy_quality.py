"""6. Energy versus quality: each configuration's total energy (training + answering the
evaluation prompts) against its judge score, the Pareto front, and the configurations worth
choosing with their trade-off in words."""

from __future__ import annotations

from ... import fmt
from ..blocks import Block, Bullets, Finding, Note, Section, Table, Text, not_available
from ..energy import RunEnergy, all_run_energy
from ..figures import EnergyPoint, energy_quality
from ..pareto import Point, best_scoring, pareto_front, tradeoff
from ..quality import PanelScore, panel_score
from .context import Context, figure_or_note

TITLE = "6. Energy versus quality"


def _table(energies: dict[str, RunEnergy], panel: PanelScore, front: set[str]) -> Table:
    rows = []
    energy = fmt.energy_formatter(j for e in energies.values() for j in (e.train_j, e.inference_j, e.total_j))
    for run, e in sorted(energies.items(), key=lambda kv: (kv[1].total_j is None, kv[1].total_j or 0, kv[0])):
        rows.append((run, fmt.num(panel.scores.get(run), 2), energy(e.train_j) if e.trained else "none (base)",
                     energy(e.inference_j), energy(e.total_j), e.method,
                     "yes" if run in front else ""))
    return Table(("run", "judge score", "training energy", "answering energy", "total energy", "method",
                  "Pareto front"), tuple(rows), numeric=(False, True, True, True, True, False, False))


def _notes(energies: dict[str, RunEnergy], placed: set[str], panel: PanelScore) -> list[Block]:
    notes: list[Block] = []
    if panel.unscored:
        notes.append(Note(f"Not placed (not scored by every judge): {', '.join(panel.unscored)}."))
    unplaced = sorted(run for run in energies if run not in placed)
    if unplaced:
        notes.append(Note(f"Not placed (no complete energy figure): {', '.join(unplaced)}."))
    if any(e.method == "estimated" for e in energies.values()):
        notes.append(Note("Estimated figures come from a model of power (CodeCarbon's TDP and load estimate), not "
                          "from a hardware counter: they rank runs on the same machine fairly, but are not "
                          "comparable with measured figures from other machines."))
    return notes


def _base_sentence(energies: dict[str, RunEnergy], panel: PanelScore, best: Point) -> list[Block]:
    base = [e for e in energies.values() if not e.trained and e.total_j is not None and e.run in panel.scores]
    return [Text(f"For reference, the base model without an adapter ({e.run}) scores {panel.scores[e.run]:.2f} "
                 f"({fmt.pct(panel.scores[e.run] / best.score) if best.score > 0 else fmt.NA} of the best) "
                 f"for {fmt.energy(e.total_j)} of answering energy.") for e in base]


def build(ctx: Context) -> Section:
    study = ctx.study
    panel = panel_score(study.ranking)
    if panel is None:
        return Section("energy", TITLE, (not_available("energy versus quality", "no judge scores in ranking.json"),))
    energies = all_run_energy(study, list(panel.scores))
    placed = [Point(r, e.total_j, panel.scores[r]) for r, e in energies.items() if e.total_j is not None]
    candidates = [p for p in placed if energies[p.run].trained]
    reference = [p for p in placed if not energies[p.run].trained]
    if not candidates:
        return Section("energy", TITLE, (not_available("energy versus quality", "no trained run has both an energy "
                                                       "figure and a judge score"), *_notes(energies, set(), panel)))
    front = pareto_front(candidates)
    on_front = {p.run for p in front}
    best = best_scoring(candidates)
    points = [EnergyPoint(p.run, p.energy_j, p.score, energies[p.run].method, p.run in on_front, p in reference)
              for p in candidates + reference]
    path = energy_quality(points, panel.axis_label, ctx.figure_path("energy_vs_quality"))
    blocks: list[Block] = [
        Text(f"Energy per run: training (with validation) plus generating its answers to the evaluation prompts; "
             f"judging is left out because the judges judged all runs together. Score: {panel.label}."),
        figure_or_note(path, "Total energy against judge score; the Pareto front (no other run scores higher for "
                             "less energy) is joined by a line.", "energy versus quality figure", "no point to draw"),
        Finding(f"Recommended configurations (on the Pareto front, cheapest first): "
                f"{len(front)} of {len(candidates)} runs."),
        Bullets(tuple(tradeoff(p, best) for p in front)),
        *_base_sentence(energies, panel, best),
        _table(energies, panel, on_front),
        *_notes(energies, {p.run for p in candidates + reference}, panel),
    ]
    return Section("energy", TITLE, tuple(blocks))
