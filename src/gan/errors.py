"""The errors that a user can fix (entry points print them without a traceback), and how a
config validation error is worded: one line naming the file, the key, what is expected and what
was given."""

from __future__ import annotations

import re

from pydantic import ValidationError


class PipelineError(Exception):
    """Bad input or environment: the message names the problem and the fix."""


class MissingInputError(PipelineError, FileNotFoundError):
    """A stage's input file does not exist (usually: an earlier stage has not run)."""


class BadInputError(PipelineError, ValueError):
    """A stage's input file exists but is not what the stage expects."""


class DiskError(PipelineError, OSError):
    """A file could not be written: the disk is full, read-only or not ours to write."""


class Terminated(BaseException):
    """SIGTERM (Slurm's time limit, `kill`), raised in the main thread by the handler that
    `gan.runtime` installs, so that open runs and files unwind as for Ctrl-C."""


class Interrupted(Terminated):
    """The scheduler asked the run to stop (its time limit is near): training stopped after a
    complete epoch's checkpoint and resumes from it when the task runs again."""


class ConfigError(PipelineError, ValueError):
    """A params file is missing, malformed, or holds an invalid value."""


# Stands for the failing key in a validator's message; describe() puts the dotted key there.
WHERE = "<key>"


# pydantic error type -> what the key must be
EXPECTED = {"int_type": "int", "int_parsing": "int", "int_from_float": "int",
            "float_type": "float", "float_parsing": "float", "bool_type": "bool",
            "bool_parsing": "bool", "string_type": "str", "list_type": "a list",
            "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type":
            "a mapping", "none_required": "null"}
# pydantic bound error type -> (its ctx key, the comparison)
BOUNDS = {"greater_than": ("gt", ">"), "greater_than_equal": ("ge", ">="),
          "less_than": ("lt", "<"), "less_than_equal": ("le", "<=")}


def _key(loc: tuple) -> str:
    """('variants', 'cgan', 'epochs') -> variants.cgan.epochs; list indices as seeds[1]."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) and out and not out.endswith(
            "lr_d_milestones") else ("." if out else "") + str(part)
    return out


def describe(exc: ValidationError, source: str) -> str:
    """The first error of a validation as one line: source, key, expected, got."""
    err = exc.errors(include_url=False)[0]
    kind, loc, got = err["type"], err["loc"], err.get("input")
    keys = ""
    if loc[-1:] == ("[key]",):  # a mapping key of the wrong type: (..., mapping, key, "[key]")
        loc, keys = loc[:-2], " keys"
    where = f"'{_key(loc)}'" if loc else "top level"
    if kind == "value_error":  # the config's validators: a whole message, WHERE[.field] -> key
        def key(match: re.Match) -> str:
            return f"'{_key(loc)}{match.group(1) or ''}'" if loc else "top level"
        return f"{source}: " + re.sub(re.escape(WHERE) + r"(\.\w+)?", key,
                                      str(err["ctx"]["error"]))
    if kind in BOUNDS:
        bound, op = BOUNDS[kind]
        return f"{source}: {where} must be {op} {err['ctx'][bound]:g}, got {got!r}"
    if kind == "literal_error":
        choices = err["ctx"]["expected"].replace(" or ", ", ")
        return f"{source}: {where} must be one of [{choices}], got {got!r}"
    expected = EXPECTED.get(kind, err["msg"].lower())
    return f"{source}: {where}{keys} must be {expected}, got {got!r} ({type(got).__name__})"
