"""pytest glue for smbtests: thin layers over the engine in smbtests/ (which never imports
pytest). `conftest.py` at the repository root loads these modules; elsewhere use
`pytest -p plugins.options -p plugins.suite -p plugins.results`."""
