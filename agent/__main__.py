"""Allow `python -m agent` as an alias of the `opsgraph-agent` console script."""

from agent.cli import main

raise SystemExit(main())
