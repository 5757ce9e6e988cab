"""The ``pytest`` stage kind and everything only it uses: the test base image, the CPU
budget, shards, recorded durations and the collection of test ids (``stage`` is the kind)."""
