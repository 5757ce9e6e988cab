"""``python -m pipeline.reports.timeline REPORT_DIR``."""

import sys

from pipeline.reports.timeline import main

sys.exit(main())
