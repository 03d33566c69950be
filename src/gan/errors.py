"""Base class of the errors that a user can fix; entry points print them without a traceback."""


class PipelineError(Exception):
    """Bad input or environment: the message names the problem and the fix."""
