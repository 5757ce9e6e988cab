"""``python -m pipeline`` (also ``dagger run python -m pipeline`` and ``slipway``)."""

import sys

from pipeline.commands.cli import main

sys.exit(main())
