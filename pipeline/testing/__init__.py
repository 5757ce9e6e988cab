"""Code that runs inside the test containers.

Each module here is self-contained (standard library, plus pytest and the
project's PostgreSQL driver for the plugin) because Slipway copies the files
into a container where Slipway itself is not installed.
"""
