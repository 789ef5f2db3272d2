"""Imported last by the flow runs' forkserver (``warm_start.PRELOAD``): moves everything the
preload made into the garbage collector's permanent generation, as Python's ``gc.freeze``
documents for a process that forks. Otherwise the first full collection in each forked flow
run walks the whole inherited heap and writes to every page of it (copy-on-write): about
0.25 s of one certificate render in a closing pass (BENCHMARKS.md, certificates)."""

import gc

gc.collect()
gc.freeze()
