"""The command line (``cli``): thin typer commands over the layers below, and the one
error handler. ``python -m pipeline`` and the ``slipway`` script call ``cli.main``."""
