"""`python -m dashboard.simulate`: the headless simulator, kept at the README's name
(it lives in simulator/cli.py)."""

from simulator.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
