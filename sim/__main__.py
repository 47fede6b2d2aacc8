"""Allow ``python -m sim`` as an alias of the ``sim`` console script."""

from sim.cli import main

raise SystemExit(main())
