"""An analysis that fails half-way, as generated code sometimes does.

``pyexec-store run examples/failing_analysis.py`` records it anyway: the
traceback, the output so far, what ``results`` held, and a failed final notebook.
"""

import numpy as np

values = np.array([4.0, 8.0, 15.0, 16.0, 23.0, 42.0])
print("mean", values.mean())
results = {"mean": float(values.mean())}
weights = np.array([1.0, 2.0, 3.0])
results["weighted"] = float(np.average(values, weights=weights))  # shapes differ: it raises
