"""The check-in consumers: Kafka -> MongoDB read models (`homecheckins`, `technicians`, `orders`).

`python -m consumers [--workers N]` runs the consumer group; `python -m consumers rebuild`
rebuilds `technicians` and `orders` from `homecheckins`.
"""
