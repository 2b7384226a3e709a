"""`python -m nst CONTENT STYLE [STYLE ...] -o OUT.png` (see nst.cli)."""
from .cli import main

raise SystemExit(main())
