"""What the dashboard's pages call: queries, map layers, formatting. Pure where possible."""
