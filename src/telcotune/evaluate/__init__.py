"""The evaluation stage: answers from every adapter, a judge panel, rankings."""
