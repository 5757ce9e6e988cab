"""``slipway init``: from what ``pipeline.detect`` read in a repository to the pipeline.yaml
(and Dockerfile.test) that runs its CI, and back (``init --check``).

``propose`` decides (each choice with its note), ``render`` and ``render_dockerfile``
write, ``check`` compares a pipeline.yaml with a proposal. Imports ``detect`` (what was
read) and ``config`` (the model it writes); never an engine or the run.
"""

from pipeline.init.aliases import local_aliases, lookalike
from pipeline.init.check import CheckResult, Difference, check
from pipeline.init.dockerfile import MARK, render_dockerfile
from pipeline.init.proposal import Proposal
from pipeline.init.propose import propose
from pipeline.init.render import render
from pipeline.init.summary import summary

__all__ = [
    "MARK",
    "CheckResult",
    "Difference",
    "Proposal",
    "check",
    "local_aliases",
    "lookalike",
    "propose",
    "render",
    "render_dockerfile",
    "summary",
]
