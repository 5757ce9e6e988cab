"""``python -m pipeline`` (also ``dagger run python -m pipeline`` and ``slipway``)."""

import sys

from pipeline.cli import main

sys.exit(main())
