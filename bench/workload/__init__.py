"""The bench workload: a generated backend project of real size (see generate.py)."""
