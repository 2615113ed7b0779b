"""The HTTP check-in service: the legacy `POST /api/SOA/home/checkin`, answered only once Kafka
has acknowledged the event (acks=all). `python -m api` serves it with uvicorn."""
