"""Knowledge and forgetting: multiple-choice questions (MCQ files and questions built from the
glossary) scored by log-likelihood on the base model and every adapter, with accuracy intervals
and a paired comparison to the base that says whether an adapter gained or forgot knowledge.

    mcq.py           the question record and the MCQ JSONL format
    glossary_mcq.py  questions from a glossary (definition, expansion, resolution step)
    sources.py       which questions a run scores (config or command line, limits)
    encoding.py      question -> context tokens and option continuations (chat template)
    scoring.py       batched option log-likelihoods (torch)
    stats.py         Wilson, Newcombe, exact McNemar, Holm, verdicts (pure)
    record.py        the typed artifacts: per-model scores, eval/knowledge.json
    results.py       scores -> the result record; leaderboard columns
    runner.py        base once, adapters swapped on it, per-model files, resumable
    command.py       `telcotune knowledge --workdir W`
"""
