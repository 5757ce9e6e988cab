"""pipeline.yaml, read into frozen, typed objects: the one door to the config layer.

``yamlload`` (safe YAML with line marks) -> ``loader`` (interpolation, secrets,
validation against ``model``, graph checks) -> ``Config``; ``schema`` is the
JSON Schema generated from ``model``.
"""

from pipeline.config.loader import Config, find_cycle, git_facts, load_config

__all__ = ["Config", "find_cycle", "git_facts", "load_config"]
