"""The local default stack: Kafka (KRaft), FerretDB, and the project's own services.

`python -m stack up|down|status|run` starts them detached (pid files and logs under
`.stack/`), stops only what it started, and reports each service's state.
"""
