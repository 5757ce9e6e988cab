"""The Dagger engine (dagger-io): ``chain`` turns a spec into a lazy query, ``engine`` runs it."""

from pipeline.engines.dagger.engine import DaggerEngine, dagger_available

__all__ = ["DaggerEngine", "dagger_available"]
