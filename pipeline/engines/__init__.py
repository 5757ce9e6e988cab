"""Engines run container specs: ``base`` is the Protocol, ``docker/`` and ``dagger/`` the
two engines, ``select`` chooses one for ``--engine auto``."""
