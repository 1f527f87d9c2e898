"""Which code made a result: a hash of the package's own source, and the git commit.

Why: an experiment's unit is reused when its fingerprint matches, and a table in
the docs names the code it was computed by.  The configuration and the records
are not enough: after a change of code, a unit of the old code must be
recomputed, not read back.
"""
from __future__ import annotations

import hashlib
import subprocess
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
SOURCE_SUFFIXES = (".py", ".json", ".csv")


@lru_cache(maxsize=1)
def source_hash() -> str:
    """SHA-256 (16 hex digits) of every source, configuration and resource file of the package,
    by relative path and content: any change of code changes it, a checkout's location does not."""
    digest = hashlib.sha256()
    for path in sorted(p for p in PACKAGE.rglob("*") if p.suffix in SOURCE_SUFFIXES and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def commit() -> str:
    """The checkout's commit, with '+changes' when tracked files differ from it; '' outside git."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(PACKAGE), *args], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", str(PACKAGE))
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"{head}+changes" if head and dirty else head
