"""Training a model folder: the training loop, the size ladder's "auto" rule, the wall-clock
budget and data-parallel devices.  Writes the folder that serving reads.
"""
