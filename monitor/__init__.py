"""The consumer-lag monitor: Kafka offsets, lag maths, Burrow-style statuses, the sampler's
history in MongoDB, dead letters, and the `python -m dashboard.lag` command line."""
