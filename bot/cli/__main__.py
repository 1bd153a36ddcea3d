"""`python -m skywarden.bot.cli`: the same command line as the `skywarden` script."""

from skywarden.bot.cli import main

main()
