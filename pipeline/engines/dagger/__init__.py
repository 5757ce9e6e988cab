"""The Dagger engine (dagger-io), in the order a run meets it.

``connection`` finds an engine (a ``dagger run`` session, a runner host, Slipway's own
engine container) without importing dagger-io; ``provision`` builds and starts Slipway's
engine; ``chain`` turns a spec into a lazy query and ``readback`` reads it back;
``session``, ``services``, ``job`` and ``engine`` evaluate it. Import ``engine`` (slow:
dagger-io) only where a run uses it.
"""
