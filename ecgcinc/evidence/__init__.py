"""What says how well it works: the evaluator, experiments with seeds and paired bootstrap
intervals, the feature baseline, executors for experiment grids, reports and re-targeting.
"""
