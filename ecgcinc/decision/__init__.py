"""From scores to labels: the feature model, its fusion with the network, calibration, and the
thresholds (CICST and the comparison methods).
"""
