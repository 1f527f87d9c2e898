"""A folder of records as training examples: labels, sources, splits and folds, and the
memory-mapped cache of preprocessed signals and features.  Stands on signals, io and core.
"""
