"""The types every layer shares: container specs, job outcomes, errors, secrets.

Nothing here imports any other part of Slipway, so any layer may import it.
"""
