"""Results rendered for other tools: monitoring exports (export.py) and their command line."""
