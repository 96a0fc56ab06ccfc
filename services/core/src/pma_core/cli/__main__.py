"""`python -m pma_core.cli` is the `pma` command."""

from pma_core.cli import main

main()
