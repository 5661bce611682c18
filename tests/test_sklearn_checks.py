"""scikit-learn's own estimator checks, run on small, fast instances."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from aekit import VAE, AnomalyDetector, Autoencoder, Imputer

FAST = dict(hidden_dims=(8,), max_epochs=3, latent_dim=1)


@parametrize_with_checks(
    [
        Autoencoder(**FAST),
        Autoencoder(noise="masking", **FAST),
        Autoencoder(noise="gaussian", pretrain="stacked", **FAST),
        VAE(**FAST),
        VAE(prior="student-t", **FAST),
        VAE(max_epochs=3),  # sizes chosen on held-out rows
        Imputer(Autoencoder(noise="masking", mask_input=True, **FAST), n_iter=2),
        Imputer(VAE(**FAST), n_importance=5),
        AnomalyDetector(Autoencoder(**FAST)),
        AnomalyDetector(VAE(**FAST), n_importance=5, contamination=0.1),
        AnomalyDetector(Autoencoder(**FAST), scoring="reconstruction"),
        AnomalyDetector(VAE(**FAST), scoring="reconstruction", contamination=0.1),
    ],
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
