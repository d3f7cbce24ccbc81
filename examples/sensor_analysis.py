"""A realistic analysis, as an agent would generate it: numbers, a table, two figures.

Run it recorded: ``pyexec-store run examples/sensor_analysis.py`` (what ``make run`` does).
Everything it leaves in ``results`` and every open figure is stored with it.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

rng = np.random.default_rng(7)
hours = pd.date_range("2026-11-01", periods=24 * 7, freq="h")
temperature = (
    21 + 3 * np.sin(np.arange(hours.size) * 2 * np.pi / 24) + rng.normal(0, 0.4, hours.size)
)
readings = pd.DataFrame({"time": hours, "temperature": temperature})
readings["day"] = readings["time"].dt.day_name()

daily = readings.groupby("day", sort=False)["temperature"].agg(["mean", "min", "max"]).round(2)
anomalies = readings[np.abs(readings["temperature"] - readings["temperature"].mean()) > 3.5]
print(f"{len(readings)} readings, {len(anomalies)} anomalies")
print(daily.to_string())

fig, ax = plt.subplots(figsize=(8, 3))
ax.plot(readings["time"], readings["temperature"], linewidth=0.8)
ax.scatter(anomalies["time"], anomalies["temperature"], color="red", zorder=3, label="anomaly")
ax.set_ylabel("°C")
ax.set_title("Sensor T-101, one week")
ax.legend()
fig.tight_layout()

fig2, ax2 = plt.subplots(figsize=(5, 3))
ax2.bar(daily.index.str[:3], daily["mean"])
ax2.set_ylabel("mean °C")
ax2.set_title("Daily mean")
fig2.tight_layout()

results = {
    "readings": len(readings),
    "mean": float(readings["temperature"].mean()),
    "daily": daily,
    "anomalies": anomalies["time"].dt.strftime("%Y-%m-%d %H:%M").tolist(),
}
