"""Download the four official Fashion-MNIST files, verified against their published MD5."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import urllib.request
from pathlib import Path

from gan.errors import DiskError, PipelineError
from gan.files import atomic_dir, disk_errors_as_one_line

log = logging.getLogger(__name__)

# Published checksums (github.com/zalandoresearch/fashion-mnist, README).
FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
MIRROR_ENV = "FASHION_MNIST_MIRROR"


class DownloadError(PipelineError, RuntimeError):
    """No source delivered a file with the published checksum."""


def md5sum(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sources(mirrors: list[str], local_mirror: str | None) -> list[str]:
    """Sources in the order they are tried: the local mirror (env var wins), then the mirrors."""
    local = os.environ.get(MIRROR_ENV) or local_mirror
    return ([str(Path(local).expanduser().resolve())] if local else []) + list(mirrors)


def _fetch(source: str, name: str, dest: Path, timeout_s: float) -> None:
    """Copy `name` from a local directory or a URL prefix into `dest`."""
    if "://" not in source:
        shutil.copyfile(Path(source) / name, dest)
        return
    url = source.rstrip("/") + "/" + name
    with urllib.request.urlopen(url, timeout=timeout_s) as resp, open(dest, "wb") as out:
        shutil.copyfileobj(resp, out, 1 << 20)


def fetch_verified(name: str, md5: str, srcs: list[str], dest_dir: Path,
                   timeout_s: float) -> str:
    """Fetch one file from the first source whose copy matches `md5`; return that source."""
    failures = []
    part = dest_dir / f"{name}.part"
    try:
        for source in srcs:
            try:
                with disk_errors_as_one_line(part):  # a full disk ends the download at once
                    _fetch(source, name, part, timeout_s)
            except DiskError:
                raise
            except Exception as exc:  # network, HTTP and file errors alike: try the next source
                failures.append(f"  {source}: {type(exc).__name__}: {exc}")
                continue
            got = md5sum(part)
            if got == md5:
                os.replace(part, dest_dir / name)
                log.info("%s: fetched from %s (md5 ok)", name, source)
                return source
            failures.append(f"  {source}: MD5 mismatch (got {got}, expected {md5})")
    finally:
        part.unlink(missing_ok=True)
    raise DownloadError(
        f"could not obtain {name} with the published MD5 from any source:\n"
        + "\n".join(failures)
        + f"\nFix: check your network, or set {MIRROR_ENV} (or data.local_mirror in "
        "params.yaml) to a directory holding the four official Fashion-MNIST .gz files."
    )


def download_fashion_mnist(out_dir: Path, srcs: list[str], timeout_s: float = 30.0) -> None:
    """Fetch all four files into `out_dir`, which appears only once every file is verified."""
    if not srcs:
        raise DownloadError("no download sources: set data.mirrors or data.local_mirror "
                            f"in params.yaml, or {MIRROR_ENV}")
    with atomic_dir(out_dir) as tmp:
        for name, md5 in FILES.items():
            fetch_verified(name, md5, srcs, tmp, timeout_s)
