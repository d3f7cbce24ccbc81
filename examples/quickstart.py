"""Record one complete execution in the default store and show what was written.

Run with ``make run``. The store is ``$PYEXEC_STORE_URL`` if set, else
``./_agent_data`` on local disk.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

import pyexec_store as ps

CODE = """import numpy as np
signal = np.sin(np.linspace(0, 6.28, 200))
results = {"mean": float(signal.mean()), "peak": float(signal.max())}"""


def main() -> None:
    store = ps.open_store()
    ctx = store.create_execution("sensor_analysis")
    store.save_context(ctx, {"task": "summarise the sensor signal", "sensor": "T-101"})

    # A failed attempt, then the one that ran.
    store.create_attempt_notebook(
        ctx,
        CODE.replace("np.sin", "np.sinn"),
        stage="execution",
        error_context="AttributeError: module 'numpy' has no attribute 'sinn'",
    )
    store.create_attempt_notebook(ctx, CODE, stage="execution")

    signal = np.sin(np.linspace(0, 6.28, 200))
    results = {"mean": float(signal.mean()), "peak": float(signal.max()), "signal": signal}
    store.save_results(ctx, results)

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(signal, label="T-101")
    ax.set_title("Sensor signal")
    ax.legend()
    figure = store.save_figure(ctx, fig)
    plt.close(fig)

    final = store.create_final_notebook(ctx, CODE, results=results, figure_paths=[figure])
    store.finish_execution(ctx, success=True)

    print(f"store:     {store.root}")
    print(f"execution: {ctx.folder_path}")
    print("files:")
    for path in sorted(p for p in ctx.folder_path.rglob("*") if p.is_file()):
        print(f"  {path.relative_to(ctx.folder_path)}")
    print("links:")
    for attempt in ctx.notebook_attempts:
        print(f"  attempt {attempt.attempt_number}: {attempt.notebook_link}")
    print(f"  final:     {store.url(final)}")
    print(f"  figure:    {store.url(figure)}")


if __name__ == "__main__":
    main()
