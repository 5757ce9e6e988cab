"""What a run leaves behind: report.json, summary.md, merged JUnit and coverage, logs."""
