"""`make bench`: figures, never pass/fail. Each section is a module with `run(settings) -> dict`."""
