"""The asymmetrical architecture search (paper Sec. 3.2): evolution with SUC fitness, its command and its plots.

- ``evolution``: mutation, crossover, the population loop (Alg. 1) and the fitness of a candidate (Eq. 3)
- ``command``: ``vlt-mini search`` / ``run_search``, and ``prepare_search`` for notebooks
- ``plots``: fitness per generation, a candidate drawn like the paper's Table 1
"""
