"""Energy versus quality: each configuration's total energy (training + answering the evaluation
prompts) against each discriminating judge's estimate with its interval, and the configuration
worth choosing: the cheapest among those the judge finds not significantly worse than its best
(report/choice.py). When no judge can tell the runs apart, the section says so and recommends
nothing. Judges that cannot discriminate are left out, with the reason."""

from __future__ import annotations

from ... import fmt
from ...rank import Recommendation
from ..blocks import Block, Bullets, Finding, Note, Section, Table, Text, not_available
from ..choice import Choice, choices, nothing_to_recommend, study_energies
from ..energy import RunEnergy
from ..figures import EnergyPanel, EnergyPoint, energy_quality
from ..judges import left_out_sentence
from ..quality import knowledge_accuracy
from .context import Context, figure_or_note

TITLE = "Energy versus quality"


def _panel(choice: Choice, energies: dict[str, RunEnergy]) -> EnergyPanel:
    sep = choice.judged.separation
    chosen = choice.outcome.run if isinstance(choice.outcome, Recommendation) else None
    points = tuple(
        EnergyPoint(e.run, energies[e.run].total_j, e.estimate, e.ci.low if e.ci else None,
                    e.ci.high if e.ci else None, energies[e.run].method, e.in_tier, e.run == chosen,
                    not energies[e.run].trained)
        for e in sep.entries if e.run in energies and energies[e.run].total_j is not None)
    return EnergyPanel(f"{choice.judged.label}: top tier {len(sep.tier)} of {sep.n_runs} runs", sep.statistic, points)


def _verdict(choice: Choice) -> str:
    o = choice.outcome
    if isinstance(o, Recommendation):
        return f"{o.judge}: {o.run} ({fmt.energy(o.energy_j)}), {o.reason}."
    return f"{o.judge}: no recommendation; {o.reason}."


def _score(choice: Choice, run: str) -> str:
    sep = choice.judged.separation
    entry = next((e for e in sep.entries if e.run == run), None)
    if entry is None:
        return fmt.NA
    ci = fmt.interval(entry.ci.low, entry.ci.high) if entry.ci else "[no CI]"
    return f"{fmt.num(entry.estimate, 2)} {ci}{' tier' if entry.in_tier else ''}"


def _table(energies: dict[str, RunEnergy], found: list[Choice], knowledge: dict[str, float]) -> Table:
    energy = fmt.energy_formatter(j for e in energies.values() for j in (e.train_j, e.inference_j, e.total_j))
    columns = ["run", *(c.judged.label for c in found), *(["knowledge accuracy"] if knowledge else []),
               "training energy", "answering energy", "total energy", "method"]
    rows = []
    for run, e in sorted(energies.items(), key=lambda kv: (kv[1].total_j is None, kv[1].total_j or 0, kv[0])):
        rows.append((run, *(_score(c, run) for c in found),
                     *([fmt.pct(knowledge.get(run), 1)] if knowledge else []),
                     energy(e.train_j) if e.trained else "none (base)", energy(e.inference_j), energy(e.total_j),
                     e.method))
    return Table(tuple(columns), tuple(rows),
                 caption="Judge columns: estimate [its interval]; 'tier' marks runs not significantly worse than "
                         "that judge's best. Cheapest first.",
                 numeric=(False, *(True,) * (len(columns) - 2), False))


def _notes(energies: dict[str, RunEnergy], ctx: Context) -> list[Block]:
    notes: list[Block] = []
    excluded = left_out_sentence(ctx.study.ranking)
    if excluded:
        notes.append(Note(excluded + " Their scores are not shown here."))
    unplaced = sorted(run for run, e in energies.items() if e.total_j is None)
    if unplaced:
        notes.append(Note(f"Not placed (no complete energy figure): {', '.join(unplaced)}."))
    if any(e.method == "estimated" for e in energies.values()):
        notes.append(Note("Estimated figures come from a model of power (CodeCarbon's TDP and load estimate), not "
                          "from a hardware counter: they rank runs on the same machine fairly, but are not "
                          "comparable with measured figures from other machines."))
    return notes


def _recommendation(ctx: Context, found: list[Choice]) -> list[Block]:
    none = nothing_to_recommend(ctx.study, found)
    chosen = [c for c in found if isinstance(c.outcome, Recommendation)]
    if none is not None:
        return [Finding(none), *([Bullets(tuple(_verdict(c) for c in found))] if found else [])]
    runs = list(dict.fromkeys(c.outcome.run for c in chosen))
    head = (f"Recommended: {fmt.listing(runs)}, the cheapest configuration not significantly worse than the best "
            f"(by {len(chosen)} of {fmt.plural(len(found), 'judge')} that can discriminate; each judge below).")
    return [Finding(head), Bullets(tuple(_verdict(c) for c in found))]


def build(ctx: Context) -> Section:
    study = ctx.study
    if study.ranking is None:
        return Section("energy", TITLE, (not_available("energy versus quality", study.missing_reason("ranking")),))
    energies = study_energies(study)
    found = choices(study, energies)
    if not any(e.trained and e.total_j is not None for e in energies.values()):
        return Section("energy", TITLE, (not_available("energy versus quality", "no trained run has a complete "
                                                       "energy figure"), *_recommendation(ctx, found),
                                         *_notes(energies, ctx)))
    path = energy_quality([_panel(c, energies) for c in found], ctx.figure_path("energy_vs_quality"))
    blocks: list[Block] = [
        Text("Energy per run: training (with validation) plus generating its answers to the evaluation prompts; "
             "judging is left out because the judges judged all runs together. A configuration is recommended "
             "only from the runs a judge finds not significantly worse than its best (its top tier, paired "
             "comparison on the same prompts): among those, the cheapest. Differences inside the noise are not a "
             "trade-off worth taking."),
        *_recommendation(ctx, found),
        figure_or_note(path, "Total energy against each judge's estimate with every run's interval; top-tier runs "
                             "in colour, runs significantly worse than the best in grey, the recommended run "
                             "circled, the base model as a cross.",
                       "energy versus quality figure", "no judge that can discriminate compared the runs"),
        _table(energies, found, knowledge_accuracy(study.ranking)),
        *_notes(energies, ctx),
    ]
    return Section("energy", TITLE, tuple(blocks))
