"""The Docker engine (docker-py): ``engine.DockerEngine`` and the parts it is made of.

``bootstrap`` (base images without a registry) and ``gc`` (leftovers of dead runs)
are Docker-only tools the ``images`` and ``gc`` commands call.
"""

from pipeline.engines.docker.engine import DockerEngine

__all__ = ["DockerEngine"]
