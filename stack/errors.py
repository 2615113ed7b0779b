class StackError(Exception):
    """A problem the user can act on; printed as one line (plus a log tail) by the CLI."""
