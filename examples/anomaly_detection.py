"""6. Anomaly detection: one digit is normal, the others are anomalies.

    python examples/anomaly_detection.py [--fast] [--output-dir DIR]

An AnomalyDetector (a VAE's log-likelihood) is fitted on images of zeros only;
fresh zeros should score high, other digits low. ROC-AUC against an
IsolationForest on the same split. Writes anomaly_scores.png.
"""

from __future__ import annotations

import numpy as np
from _common import cli, save
from matplotlib.figure import Figure
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

import aekit
from aekit.data.datasets import load_digits


def main(fast: bool = False, output_dir="examples-output") -> dict:
    X, y = load_digits(dequantize=True)
    normal, odd = X[y == 0], X[y != 0]
    train, fresh = train_test_split(normal, test_size=0.3, random_state=0)
    odd = odd[np.random.default_rng(0).choice(len(odd), len(fresh), replace=False)]
    test = np.r_[fresh, odd]
    truth = np.r_[np.ones(len(fresh)), np.zeros(len(odd))]  # 1 = normal
    model = aekit.VAE(latent_dim=4, hidden_dims=(64,), max_epochs=5 if fast else 300, patience=20)
    detector = aekit.AnomalyDetector(model, random_state=0).fit(train)
    scores = detector.score_samples(test)
    forest = IsolationForest(random_state=0).fit(train).score_samples(test)
    results = {
        "aekit": roc_auc_score(truth, scores),
        "isolation forest": roc_auc_score(truth, forest),
    }
    flagged = detector.predict(test) == -1
    print(
        f"ROC-AUC: aekit {results['aekit']:.3f}, IsolationForest {results['isolation forest']:.3f}"
    )
    print(
        f"'auto' threshold flags {flagged[truth == 1].mean():.0%} of fresh zeros and "
        f"{flagged[truth == 0].mean():.0%} of other digits"
    )
    fig = Figure(figsize=(6, 3.2))
    ax = fig.subplots()
    bins = np.linspace(scores.min(), scores.max(), 40)
    ax.hist(scores[truth == 1], bins, alpha=0.6, label="fresh zeros")
    ax.hist(scores[truth == 0], bins, alpha=0.6, label="other digits")
    ax.axvline(detector.offset_, color="k", lw=1, label="'auto' threshold")
    ax.set(xlabel="score (log-likelihood, nats)", ylabel="images")
    ax.legend(fontsize=8)
    save(fig, output_dir, "anomaly_scores.png")
    return results


if __name__ == "__main__":
    cli(__doc__, main)
