"""Parse gzip-compressed IDX files (the MNIST format) with validation."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from gan.errors import PipelineError

# IDX magic: two zero bytes, a type code (0x08 = unsigned byte), and the number of dimensions.
UBYTE = 0x08


class IdxError(PipelineError, ValueError):
    """An IDX file is truncated, corrupt, or not what it should be."""


def read_idx(path: Path | str, ndim: int) -> np.ndarray:
    """Read a gzip IDX file of unsigned bytes with `ndim` dimensions as a uint8 array."""
    path = Path(path)
    fix = "delete it and run the download stage again (`dvc repro download`)"
    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError as exc:
        raise IdxError(f"{path}: file not found; run the download stage first") from exc
    except (OSError, EOFError, zlib.error) as exc:
        raise IdxError(f"{path}: truncated or corrupt gzip data ({exc}); {fix}") from exc
    if len(raw) < 4:
        raise IdxError(f"{path}: {len(raw)} bytes is too short for an IDX header; {fix}")
    zero, dtype, dims = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != UBYTE or dims != ndim:
        raise IdxError(
            f"{path}: bad IDX magic 0x{raw[:4].hex()} (expected 0x0000{UBYTE:02x}{ndim:02x}: "
            f"unsigned bytes, {ndim} dimension(s)); {fix}"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IdxError(f"{path}: truncated IDX header; {fix}")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise IdxError(
            f"{path}: header declares shape {shape} ({expected} bytes of data) but the file "
            f"holds {len(raw) - header}; {fix}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)
