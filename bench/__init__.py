"""`make bench`: figures, never pass/fail. Each section is a module with `run(settings) -> dict`."""


class SectionSkipped(Exception):
    """A section that cannot run here, and says why (e.g. Maven could not resolve its jars)."""
