"""kai's eval harness: tasks, the runner, scoring and reports."""
