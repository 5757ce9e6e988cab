"""The DAG of a run: stages expanded to jobs, their needs, order and critical path.

``build`` selects stages and expands them (shards) into ``jobs``' ``Job`` and ``Plan``.
"""

from pipeline.plan.build import build_plan, job_names, select_stages
from pipeline.plan.jobs import Job, Plan, Shard

__all__ = ["Job", "Plan", "Shard", "build_plan", "job_names", "select_stages"]
