"""The vocabulary every part shares: the settings, the Challenge's scored classes and their
benefit matrix W, the challenge metric, and the identity of the code.  Imports nothing of the package.
"""
