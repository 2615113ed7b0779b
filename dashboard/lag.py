"""`python -m dashboard.lag`: the lag monitor's command line, kept at the README's name
(it lives in monitor/cli.py)."""

from monitor.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
