"""``python -m pipeline`` (also ``dagger run python -m pipeline`` and ``slipway``)."""

import signal
import sys

# SIGTERM (a CI runner cancelling the job) while the CLI still imports: the same as ^C
# (KeyboardInterrupt, exit 130), not a silent kill; the run's own handler takes over later.
signal.signal(signal.SIGTERM, signal.default_int_handler)

try:
    from pipeline.commands.cli import main  # importing takes seconds on a loaded runner
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
