"""Experiments over the whole pipeline: the paper's ablations, the demo, the insight figures and the explorer."""
