"""Base class of the errors that a user can fix; entry points print them without a traceback."""


class PipelineError(Exception):
    """Bad input or environment: the message names the problem and the fix."""


class MissingInputError(PipelineError, FileNotFoundError):
    """A stage's input file does not exist (usually: an earlier stage has not run)."""


class BadInputError(PipelineError, ValueError):
    """A stage's input file exists but is not what the stage expects."""


class Terminated(BaseException):
    """SIGTERM (Slurm's time limit, `kill`), raised in the main thread by the handler that
    `gan.runtime` installs, so that open runs and files unwind as for Ctrl-C."""
