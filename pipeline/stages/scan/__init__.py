"""The ``scan`` stage kind (``stage``), its scanners' image, their findings and the policy."""
