"""A study's configuration for the tools users already have: Axolotl and LLaMA-Factory YAML, and
TRL's `trl sft` command line (`telcotune export-config`)."""

from .export import FORMATS, export_config

__all__ = ["FORMATS", "export_config"]
