"""``python -m pipeline`` (also ``dagger run python -m pipeline`` and ``slipway``)."""

import sys

from pipeline.model import signals  # the standard library only: quick to import

# A SIGINT or SIGTERM (a CI runner cancelling the job) while the CLI still imports is
# remembered: a run then ends at once as interrupted, with its report (exit 130).
signals.hold_early()
from pipeline.commands.cli import main  # noqa: E402  importing takes seconds on a loaded runner

if signals.received() and sys.argv[1:2] != ["run"]:
    print("interrupted", file=sys.stderr)  # any other command: nothing to report
    sys.exit(130)
signals.end_early()
sys.exit(main())
