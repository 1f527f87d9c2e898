"""ecgcinc: a 12-lead ECG classifier for the PhysioNet/CinC Challenge 2020/2021.

Importing the package imports no deep-learning framework: Keras loads (quietly, see
framework.py) only with the modules that build, train or load a network.
"""

__version__ = "0.9.0"  # pyproject.toml's version (tests/test_card.py keeps them equal)
