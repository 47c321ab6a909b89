"""The eval harness's errors: kai errors, so every front end reports them the one way it reports any."""

from __future__ import annotations

from tools.errors import KaiError


class TaskError(KaiError):
    """A task file that cannot be used: the message names the file and the field."""

    code = "invalid_task"


class StageError(KaiError):
    """The stage (a sandbox or a given cluster) could not be prepared for a task."""

    code = "stage_error"
