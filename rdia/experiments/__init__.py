"""The engines behind the scripts, and what they share.

- ``lr``: the logistic-regression experiment of RDIA.py (typed config, run, table).
- ``sweeps``: the paper's logistic-regression tables (alpha grid, all methods).
- ``deep``: the deep-model training loop of RDIA-LS.py (typed config, run).
- ``ls_curves``: the paper's deep-model curves over seeds.
- ``report``: mean +/- std, markdown tables, published numbers.
- ``files``: atomic writers for results files.
- ``cli``: the one error type for bad settings and the one argument parser.

Engines take typed configs (dataclasses) or keywords, never an argparse namespace;
nothing here imports a script.
"""
