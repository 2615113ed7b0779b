"""The check-in event, shared by the API, the dashboard, the simulator and the consumers."""
