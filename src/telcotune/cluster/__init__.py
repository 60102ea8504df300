"""Running the study's work on a Ray cluster. Only `ray_sweep` and `ray_answers` import ray, and
only the ray executor imports them, so a study on the local executor never loads Ray."""
