"""pytest glue for smbtests: thin layers over the engine in smbtests/ (which never imports
pytest). Installed as the package `smbtests_pytest` (a pytest11 entry point loads it wherever
pytest runs); `conftest.py` at the repository root loads it for runs from a checkout."""
