"""The engines behind the scripts, and what they share.

The logistic-regression run of RDIA.py, written once for every source and engine:
``config`` (one config and its checks), ``sources`` (benchmark, shards, your files, as
partitions), ``engines`` (in memory or on Dask, one interface), ``pipeline`` (the run)
and ``output`` (the table and the files).

- ``sweeps``: the paper's logistic-regression tables (alpha grid, all methods).
- ``deep``: the deep-model training loop of RDIA-LS.py (typed config, run).
- ``ls_curves``: the paper's deep-model curves over seeds.
- ``report``: mean +/- std, markdown tables, published numbers.
- ``files``: atomic writers for results files.
- ``cli``: the one argument parser and ``run_script``.

Engines take typed configs (dataclasses) or keywords, never an argparse namespace;
nothing here imports a script.
"""
