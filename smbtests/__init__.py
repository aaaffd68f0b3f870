"""smbtests: prove, live, that a TCP 445 / SMB exposure policy holds."""

__version__ = "0.1.0"

__all__ = ["__version__"]
