"""The online scoring service (FastAPI): the registry's champions, features from the snapshot."""
