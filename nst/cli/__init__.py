"""The command line: `python -m nst CONTENT STYLE ... -o OUT.png` (one photo, nst/cli/photo.py),
`python -m nst video ...` and `python -m nst batch ...` (nst/cli/clips.py)."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["video"], ["batch"]):
        from .clips import main as clips_main

        return clips_main(argv)
    from .photo import main as photo_main

    return photo_main(argv)
