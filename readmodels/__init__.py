"""The read models: one module per collection family, with its document shape, codec, indexes
and the queries the dashboard runs on it. Written by `consumers/`, read by `dashboard/` and
`pages/`; `store.py` holds every workaround for the local store (FerretDB 1.24 on SQLite)."""
