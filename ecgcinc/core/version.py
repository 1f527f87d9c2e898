"""The package's version, in a module that imports nothing, so that any floor can read it
(the model card, the cache key, pretraining) without importing the package's top."""
__version__ = "0.10.0"  # pyproject.toml's version (tests/test_card.py keeps them equal)
