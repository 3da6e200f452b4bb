"""`python -m dreamlab` is the same as the `dreamlab` command."""

from dreamlab.cli import main

raise SystemExit(main())
