"""MLflow: one experiment per study, a parent run for the study and one nested run per
configuration (plus `base` for the model without an adapter), through `MlflowClient` (no
global tracking state)."""

from __future__ import annotations

import os
import time

from ..artifacts.run import FinishedRun
from .records import run_params, run_summary, step_metrics

KIND_TAG, RUN_TAG, HASH_TAG, EVAL_TAG = "telcotune.kind", "telcotune.run", "telcotune.config_hash", "telcotune.eval"
PARENT_TAG = "mlflow.parentRunId"
BATCH = 1000  # MLflow's log_batch takes at most 1000 metrics


class MlflowBackend:
    def __init__(self, uri: str, experiment: str):
        if uri.startswith("file:") or "://" not in uri:
            # mlflow 3 refuses its file store unless asked; a local folder is the point here, and
            # its database store needs SQLAlchemy, which the `tracking` extra does not bring.
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=uri)
        found = self.client.get_experiment_by_name(experiment)
        self.experiment_id = found.experiment_id if found else self.client.create_experiment(experiment)
        self.study = experiment
        self._parent_id: str | None = None

    def _search(self, filters: str):
        return self.client.search_runs([self.experiment_id], filter_string=filters, max_results=10)

    @property
    def parent_id(self) -> str:
        if self._parent_id is None:
            found = self._search(f"tags.`{KIND_TAG}` = 'study'")
            self._parent_id = (found[0].info.run_id if found else self.client.create_run(
                self.experiment_id, run_name=self.study, tags={KIND_TAG: "study"}).info.run_id)
        return self._parent_id

    def _child(self, name: str, config_hash: str | None):
        """The nested run for `name` (of these settings), None when there is none yet."""
        filters = f"tags.`{PARENT_TAG}` = '{self.parent_id}' and tags.`{RUN_TAG}` = '{name}'"
        if config_hash:
            filters += f" and tags.`{HASH_TAG}` = '{config_hash}'"
        found = self._search(filters)
        return found[0] if found else None

    def _new_child(self, name: str, config_hash: str | None) -> str:
        tags = {PARENT_TAG: self.parent_id, RUN_TAG: name, KIND_TAG: "configuration"}
        if config_hash:
            tags[HASH_TAG] = config_hash
        return self.client.create_run(self.experiment_id, run_name=name, tags=tags).info.run_id

    def log_run(self, run: FinishedRun) -> None:
        from mlflow.entities import Metric, Param

        if self._child(run.name, run.config.config_hash) is not None:
            return
        run_id = self._new_child(run.name, run.config.config_hash)
        now = int(time.time() * 1000)
        metrics = [Metric(v.key, v.value, now, v.step) for v in step_metrics(run)]
        metrics += [Metric(k, v, now, run.metrics.steps) for k, v in run_summary(run).items()]
        params = [Param(k, v) for k, v in run_params(run).items()]
        self.client.log_batch(run_id, params=params)
        for i in range(0, len(metrics), BATCH):
            self.client.log_batch(run_id, metrics=metrics[i:i + BATCH])
        self.client.log_artifacts(run_id, str(run.paths.adapter), "adapter")
        self.client.set_terminated(run_id)

    def log_evaluation(self, run: str, figures: dict[str, float], key: str) -> None:
        from mlflow.entities import Metric

        found = self._child(run, None)
        if found is not None and found.data.tags.get(EVAL_TAG) == key:
            return
        run_id = found.info.run_id if found is not None else self._new_child(run, None)
        now = int(time.time() * 1000)
        self.client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in figures.items()])
        self.client.set_tag(run_id, EVAL_TAG, key)
        self.client.set_terminated(run_id)

    def close(self) -> None:
        if self._parent_id is not None:
            self.client.set_terminated(self._parent_id)
