"""Check kinds: one module per kind (planning, execution needs, observation, verdict), an index
from kind name to module (`registry`), and what they share (`base`)."""
