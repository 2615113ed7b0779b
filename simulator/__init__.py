"""The demo simulator: technicians driving to customers' homes (pure, seeded model) and the
runner that paces their check-ins into Kafka (`python -m dashboard.simulate`)."""
