"""Engines run container specs: one module per engine behind ``base.Engine``."""
