"""Trust under bad input, faults and load (issue 11): the drivers ``scripts/trust`` runs.

``fuzz`` (configs into ``plan``), ``interrupts`` (SIGINT / SIGTERM at random moments of
the bundled pipeline), ``faults`` (a daemon, registry, S3 store, service or disk that
fails mid-run), ``concurrent`` (two runs at once on one host) and ``scan`` (every
declared secret's value in everything a run leaves). Each is a module with a ``main``
(``PYTHONPATH=tests python -m trust.fuzz``) and parts the suite's short versions import
(pytest puts ``tests/`` on ``sys.path``: ``from trust.scan import ...``).
"""
