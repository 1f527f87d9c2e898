"""What is done to a signal before any model sees it: lead sets and derived leads, preprocessing,
classic features and beats, augmentations, and the synthetic generators.  Stands on io and core.
"""
