"""Behavioural customer clusters: k-means on log-scaled, standardised RFM (plus any features).

How it works (:class:`CustomerClusters`, or the one-call :func:`cluster_customers`):

1. Features: ``recency_days``, ``frequency``, ``monetary`` by default, plus any numeric columns
   you add. The RFM columns (and any listed in ``log_columns``) are transformed with
   ``log1p`` (they are skewed and non-negative), then every feature is standardised (zero mean,
   unit variance over all customers).
2. k-means (scikit-learn, k-means++, ``n_init`` restarts) is fitted on a random sample of at
   most ``sample_size`` customers, then every customer is assigned to the nearest centre, so a
   million customers cluster in seconds.
3. With ``n_clusters=None`` each k in ``k_range`` (2..8) is fitted and the one with the best
   silhouette, measured on a sub-sample of ``silhouette_sample`` (5,000) customers, wins (ties: the
   smaller k).
4. Clusters are renumbered by value: label 0 has the highest mean ``value`` (``monetary``), so a
   label means the same thing from run to run. Every random step uses ``random_state``: the
   same data and seed give the same labels.
5. Each cluster is named from its profile: the quintile (0-20%, ..., 80-100%) of the
   percentile rank of its median among all customers on recency, frequency and monetary
   gives a word for each (so a "Recent" cluster's median recency is below the overall median), e.g. "Very recent, very frequent, top spend" or "Lapsed, one-time,
   lowest spend":

   ==============  ===========  ===========  ===========  ===========  =============
   measure         0-20%        20-40%       40-60%       60-80%       80-100%
   ==============  ===========  ===========  ===========  ===========  =============
   recency         Lapsed       Lapsing      Cooling      Recent       Very recent
   frequency       rare         infrequent   occasional   frequent     very frequent
   monetary        lowest spend low spend    mid spend    high spend   top spend
   ==============  ===========  ===========  ===========  ===========  =============

   (for recency, fewer days since the last order rank higher); "one-time" replaces the frequency
   word when the cluster's median frequency is 1 ("no orders" when it is 0, possible with a
   ``window``). Repeated names get " (2)", " (3)" in value order.

Examples
--------
>>> from cpm_analysis.data import load_cdnow
>>> from cpm_analysis.segments import rfm_scores
>>> result = cluster_customers(rfm_scores(load_cdnow(sample=True), "1998-06"), random_state=0)
>>> result.k, result.names[0]
(2, 'Very recent, very frequent, top spend')
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from cpm_analysis.i18n import N_

RFM_FEATURES: tuple[str, str, str] = ("recency_days", "frequency", "monetary")
_WORDS = {
    "recency_days": (N_("Lapsed"), N_("Lapsing"), N_("Cooling"), N_("Recent"), N_("Very recent")),
    "frequency": (
        N_("rare"),
        N_("infrequent"),
        N_("occasional"),
        N_("frequent"),
        N_("very frequent"),
    ),
    "monetary": (
        N_("lowest spend"),
        N_("low spend"),
        N_("mid spend"),
        N_("high spend"),
        N_("top spend"),
    ),
}


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name}: expected an integer of at least {minimum}, got {value!r}")
    return int(value)


class CustomerClusters(ClusterMixin, BaseEstimator):
    """k-means clusters of customers on log-scaled, standardised RFM features.

    Parameters
    ----------
    n_clusters : int, optional
        The number of clusters; ``None`` picks it from ``k_range`` by silhouette.
    columns : sequence of str, optional
        Feature columns; default ``recency_days``, ``frequency``, ``monetary``.
    log_columns : sequence of str, optional
        Columns transformed with ``log1p`` before standardising (must be non-negative);
        default: the RFM columns among ``columns``.
    value : str, default "monetary"
        The column that orders clusters (label 0 = highest mean) and makes ``revenue``.
    k_range : tuple of int, default (2, 8)
        Smallest and largest k tried when ``n_clusters`` is ``None``.
    sample_size : int, default 100_000
        At most this many customers (a seeded random sample) fit k-means.
    silhouette_sample : int, default 5_000
        At most this many of those score the silhouette (its cost grows with the square).
    n_init : int, default 4
        k-means restarts per k.
    n_threads : int or None, default 1
        Threads for k-means and the silhouette (OpenMP/BLAS, via ``threadpoolctl``). k-means
        on a sample is fast on one thread, and more threads slowed it tenfold on a busy
        shared machine; ``None`` leaves the libraries' defaults.
    random_state : int, default 0
        Seed of the sampling and of k-means.

    Attributes
    ----------
    columns_, log_columns_ : list of str
    k_ : int
        The number of clusters.
    silhouette_ : float
        Silhouette of the chosen clustering (on the sub-sample).
    silhouette_scores_ : Series
        Silhouette by k tried.
    scaler_ : StandardScaler
    kmeans_ : KMeans
        The fitted k-means (its own label numbering).
    cluster_centers_ : ndarray
        Centres in the standardised space, in value order (row i = label i).
    labels_ : ndarray
        Label of every row of the training data.
    profile_ : DataFrame
        Per label: ``name``, ``customers``, ``customer_share``, ``mean_<feature>``,
        ``revenue`` (sum of ``value``), ``revenue_share``.
    names_ : dict
        ``{label: name}``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"recency_days": rng.integers(0, 400, 300),
    ...                   "frequency": rng.integers(1, 20, 300),
    ...                   "monetary": rng.gamma(2.0, 50.0, 300)})
    >>> model = CustomerClusters(n_clusters=3, random_state=0).fit(X)
    >>> model.k_, np.unique(model.labels_).tolist()
    (3, [0, 1, 2])
    """

    scaler_: StandardScaler
    kmeans_: Any
    mapping_: np.ndarray
    labels_: np.ndarray
    cluster_centers_: np.ndarray
    profile_: pd.DataFrame
    names_: Any
    k_: int
    silhouette_: float
    silhouette_scores_: pd.Series

    def __init__(
        self,
        n_clusters: int | None = None,
        *,
        columns: Sequence[str] | None = None,
        log_columns: Sequence[str] | None = None,
        value: str = "monetary",
        k_range: tuple[int, int] = (2, 8),
        sample_size: int = 100_000,
        silhouette_sample: int = 5_000,
        n_init: int = 4,
        n_threads: int | None = 1,
        random_state: int = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.columns = columns
        self.log_columns = log_columns
        self.value = value
        self.k_range = k_range
        self.sample_size = sample_size
        self.silhouette_sample = silhouette_sample
        self.n_init = n_init
        self.n_threads = n_threads
        self.random_state = random_state

    # -- helpers -----------------------------------------------------------------------------
    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"features: expected a DataFrame, got {type(X).__name__}")
        missing = [c for c in self.columns_ if c not in X.columns]
        if missing:
            raise ValueError(
                f"features: missing column(s) {', '.join(map(repr, missing))}; compute RFM "
                "with rfm_scores() or pass columns="
            )
        blocks = []
        for col in self.columns_:
            series = X[col]
            if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
                raise ValueError(f"features: column {col!r} is not numeric ({series.dtype})")
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
            bad = ~np.isfinite(values)
            if bad.any():
                raise ValueError(
                    f"features: column {col!r} has {int(bad.sum())} missing or infinite value(s)"
                )
            if col in self.log_columns_:
                if (values < 0).any():
                    raise ValueError(
                        f"features: column {col!r} has negative values and cannot be "
                        "log-scaled; leave it out of log_columns"
                    )
                values = np.log1p(values)
            blocks.append(values)
        return np.column_stack(blocks)

    def _limits(self) -> Any:
        if self.n_threads is None:
            return contextlib.nullcontext()
        return threadpool_limits(limits=_check_int(self.n_threads, "n_threads", 1))

    def _fit_k(self, sample: np.ndarray, k: int) -> KMeans:
        return KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state).fit(sample)

    def _fit_candidates(
        self, sample: np.ndarray, sil_idx: Any, candidates: list[int]
    ) -> tuple[dict[int, float], dict[int, KMeans]]:
        models = {k: self._fit_k(sample, k) for k in candidates}
        labelings = [models[k].labels_[sil_idx] for k in candidates]
        silhouettes = silhouette_scores(sample[sil_idx], labelings)
        return dict(zip(candidates, silhouettes, strict=True)), models

    # -- estimator API -----------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Any = None) -> CustomerClusters:
        """Fit on a sample of ``X`` and label every row; see the class docstring."""
        columns = list(RFM_FEATURES if self.columns is None else self.columns)
        if not columns or len(set(columns)) != len(columns):
            raise ValueError(f"columns: expected distinct column names, got {self.columns!r}")
        if self.log_columns is None:
            log_columns = [c for c in columns if c in RFM_FEATURES]
        else:
            log_columns = list(self.log_columns)
            extra = [c for c in log_columns if c not in columns]
            if extra:
                raise ValueError(f"log_columns: {extra!r} are not among the feature columns")
        self.columns_, self.log_columns_ = columns, log_columns
        sample_size = _check_int(self.sample_size, "sample_size", 10)
        sil_size = _check_int(self.silhouette_sample, "silhouette_sample", 10)
        _check_int(self.n_init, "n_init", 1)
        if not isinstance(self.random_state, numbers.Integral):
            raise ValueError(
                f"random_state: expected an int seed (results must be reproducible), got "
                f"{self.random_state!r}"
            )
        matrix = self._matrix(X)
        if self.value not in X.columns:
            raise ValueError(f"value: column {self.value!r} not in the features; pass value=")
        value = X[self.value]
        if not pd.api.types.is_numeric_dtype(value) or pd.api.types.is_bool_dtype(value):
            raise ValueError(f"value: column {self.value!r} is not numeric ({value.dtype})")
        value = value.to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.isfinite(value).all():
            raise ValueError(f"value: column {self.value!r} has missing or infinite values")
        n = len(matrix)

        self.scaler_ = StandardScaler().fit(matrix)
        scaled = self.scaler_.transform(matrix)
        rng = np.random.default_rng(self.random_state)
        fit_idx = np.sort(rng.choice(n, sample_size, replace=False)) if n > sample_size else None
        sample = scaled if fit_idx is None else scaled[fit_idx]
        distinct = len(np.unique(sample, axis=0))
        sil_idx = (
            np.sort(rng.choice(len(sample), sil_size, replace=False))
            if len(sample) > sil_size
            else slice(None)
        )

        if self.n_clusters is None:
            lo, hi = (_check_int(v, "k_range", 2) for v in self.k_range)
            if hi < lo:
                raise ValueError(f"k_range: {self.k_range!r} runs backwards")
            candidates = [k for k in range(lo, hi + 1) if k <= distinct]
            if not candidates:
                raise ValueError(
                    f"features: only {distinct} distinct customer profile(s); need at least {lo} "
                    "to cluster"
                )
        else:
            k = _check_int(self.n_clusters, "k", 2)
            if k > distinct:
                raise ValueError(
                    f"k: {k} clusters asked for, but the features have only {distinct} distinct "
                    "customer profile(s)"
                )
            candidates = [k]

        with self._limits():
            scores, models = self._fit_candidates(sample, sil_idx, candidates)
            finite = {k: s for k, s in scores.items() if np.isfinite(s)}
            best = max(finite, key=lambda k: (finite[k], -k)) if finite else candidates[0]
            self.kmeans_ = models[best]
            raw = self.kmeans_.predict(scaled)
        self.silhouette_scores_ = pd.Series(scores, name="silhouette", dtype=np.float64)
        self.silhouette_scores_.index.name = "k"
        self.k_ = best
        self.silhouette_ = scores[best]

        counts = np.bincount(raw, minlength=best)
        means = np.bincount(raw, weights=value, minlength=best) / np.maximum(counts, 1)
        order = np.argsort(-means, kind="stable")
        self.mapping_ = np.empty(best, dtype=np.int64)
        self.mapping_[order] = np.arange(best)
        self.cluster_centers_ = self.kmeans_.cluster_centers_[order]
        self.labels_ = self.mapping_[raw]
        self.profile_, self.names_ = _profile(X, self.labels_, best, self.columns_, self.value)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Return the value-ordered label of each row of ``X`` (nearest fitted centre)."""
        check_is_fitted(self, "kmeans_")
        scaled = self.scaler_.transform(self._matrix(X))
        with self._limits():
            return self.mapping_[self.kmeans_.predict(scaled)]


def silhouette_scores(
    points: np.ndarray, labelings: Sequence[np.ndarray], chunk: int = 1024
) -> list[float]:
    """Mean silhouette of several labelings of the same points, computing distances once.

    The same definition as :func:`sklearn.metrics.silhouette_score` (Euclidean): for each
    point, ``a`` is its mean distance to the rest of its cluster, ``b`` the smallest mean
    distance to another cluster, ``s = (b - a) / max(a, b)`` (0 in a cluster of one). The
    pairwise distances are computed in row chunks and shared by every labeling, so scoring
    k = 2..8 costs about one silhouette. A labeling with a single cluster (or one cluster per
    point) scores ``NaN``.

    Examples
    --------
    >>> pts = np.array([[0.0], [0.1], [5.0], [5.2]])
    >>> round(silhouette_scores(pts, [np.array([0, 0, 1, 1])])[0], 4)
    0.9703
    """
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    onehots, sizes, offsets = [], [], [0]
    for labels in labelings:
        _, codes = np.unique(labels, return_inverse=True)
        k = int(codes.max()) + 1 if n else 0
        onehot = np.zeros((n, k))
        onehot[np.arange(n), codes] = 1.0
        onehots.append(onehot)
        sizes.append(onehot.sum(axis=0))
        offsets.append(offsets[-1] + k)
    members = np.hstack(onehots) if onehots else np.zeros((n, 0))
    sums = np.empty((n, members.shape[1]))
    sq = np.einsum("ij,ij->i", points, points)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        block = sq[start:stop, None] + sq[None, :] - 2.0 * points[start:stop] @ points.T
        np.sqrt(np.maximum(block, 0.0, out=block), out=block)
        block[np.arange(stop - start), np.arange(start, stop)] = 0.0
        sums[start:stop] = block @ members
    out = []
    for i, onehot in enumerate(onehots):
        k = onehot.shape[1]
        if k < 2 or k >= n:
            out.append(float("nan"))
            continue
        own = onehot.astype(bool)
        total = sums[:, offsets[i] : offsets[i + 1]]
        size = sizes[i]
        own_size = size[np.argmax(own, axis=1)]
        a = total[own] / np.maximum(own_size - 1, 1)
        other = np.where(own, np.inf, total / size)
        b = other.min(axis=1)
        s = np.where(own_size > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-300), 0.0)
        out.append(float(s.mean()))
    return out


def _levels(pct: np.ndarray) -> np.ndarray:
    """0..4 by quintile of a mean percentile rank."""
    return np.clip(np.floor(np.asarray(pct) * 5), 0, 4).astype(np.int64)


def _median_rank(values: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Percentile rank, among all customers, of each cluster's median (mid-rank for ties).

    A cluster named from it agrees with its own statistics: a "Recent" cluster's median
    recency is below the overall median, which a mean rank does not guarantee.
    """
    ordered = np.sort(values)
    medians = pd.Series(values).groupby(labels).median().reindex(range(k)).to_numpy()
    below = np.searchsorted(ordered, medians, side="left")
    upto = np.searchsorted(ordered, medians, side="right")
    return (below + upto) / 2 / max(len(values), 1)


def _profile(
    X: pd.DataFrame, labels: np.ndarray, k: int, columns: list[str], value: str
) -> tuple[pd.DataFrame, dict[int, str]]:
    counts = np.bincount(labels, minlength=k)
    index = pd.RangeIndex(k, name="cluster")
    profile = pd.DataFrame({"customers": counts.astype(np.int64)}, index=index)
    profile["customer_share"] = counts / max(len(labels), 1)
    shown = list(dict.fromkeys([*[c for c in RFM_FEATURES if c in X.columns], *columns]))
    for col in shown:
        if pd.api.types.is_numeric_dtype(X[col]):
            values = X[col].to_numpy(dtype=np.float64, na_value=np.nan)
            profile[f"mean_{col}"] = np.bincount(
                labels, weights=np.nan_to_num(values), minlength=k
            ) / np.maximum(counts, 1)
    revenue = np.bincount(
        labels,
        weights=np.nan_to_num(X[value].to_numpy(dtype=np.float64, na_value=np.nan)),
        minlength=k,
    )
    profile["revenue"] = revenue
    total = revenue.sum()
    profile["revenue_share"] = revenue / total if total else np.nan

    parts: list[list[str]] = [[] for _ in range(k)]
    for col, words in _WORDS.items():
        if col not in X.columns:
            continue
        values = -X[col] if col == "recency_days" else X[col]  # fewer days = more recent
        level = _levels(_median_rank(values.to_numpy(dtype=np.float64), labels, k))
        if col == "frequency":
            median = pd.Series(X[col].to_numpy()).groupby(labels).median()
            median = median.reindex(range(k)).to_numpy()
        for i in range(k):
            word = words[level[i]]
            if col == "frequency" and median[i] <= 1:
                word = N_("one-time") if median[i] == 1 else N_("no orders")
            parts[i].append(word)
    names: dict[int, str] = {}
    seen: dict[str, int] = {}
    for i in range(k):
        base = ", ".join(parts[i]) if parts[i] else f"Cluster {i}"
        base = base[0].upper() + base[1:]
        seen[base] = seen.get(base, 0) + 1
        names[i] = base if seen[base] == 1 else f"{base} ({seen[base]})"
    profile.insert(0, "name", pd.array([names[i] for i in range(k)], dtype="str"))
    return profile, names


@dataclass
class ClusterResult:
    """What :func:`cluster_customers` returns.

    Attributes
    ----------
    labels : Series
        Cluster label (int, 0 = highest value) by customer, named ``cluster``.
    profile : DataFrame
        Per label: ``name``, ``customers``, ``customer_share``, ``mean_recency_days``,
        ``mean_frequency``, ``mean_monetary`` (and other features), ``revenue``,
        ``revenue_share``.
    names : dict
        ``{label: name}``.
    k : int
        Number of clusters.
    silhouette : float
        Silhouette of the clustering on the scoring sub-sample.
    silhouette_scores : Series
        Silhouette by k tried.
    model : CustomerClusters
        The fitted estimator (``model.predict(new_features)`` labels new customers).
    """

    labels: pd.Series
    profile: pd.DataFrame
    names: dict[int, str]
    k: int
    silhouette: float
    silhouette_scores: pd.Series
    model: CustomerClusters

    def named_labels(self) -> pd.Series:
        """Return the cluster name of every customer (categorical, in label order)."""
        names = [self.names[i] for i in range(self.k)]
        return pd.Series(
            pd.Categorical.from_codes(self.labels.to_numpy(), categories=names),
            index=self.labels.index,
            name="cluster_name",
        )


def cluster_customers(
    features: pd.DataFrame,
    k: int | None = None,
    random_state: int = 0,
    *,
    columns: Sequence[str] | None = None,
    log_columns: Sequence[str] | None = None,
    value: str = "monetary",
    k_range: tuple[int, int] = (2, 8),
    sample_size: int = 100_000,
    silhouette_sample: int = 5_000,
) -> ClusterResult:
    """Cluster customers by behaviour with k-means (see :class:`CustomerClusters`).

    Parameters
    ----------
    features : DataFrame
        One row per customer (indexed by customer id), e.g. from
        :func:`~cpm_analysis.segments.rfm_scores`, with any extra numeric columns joined on.
    k : int, optional
        Number of clusters; ``None`` picks k in ``k_range`` by silhouette on a sample.
    random_state : int, default 0
        Seed of every random step; the same data and seed give the same labels.
    columns, log_columns, value, k_range, sample_size, silhouette_sample
        As for :class:`CustomerClusters`.

    Returns
    -------
    ClusterResult
        ``labels`` (Series by customer), ``profile``, ``names``, ``k``, ``silhouette``,
        ``silhouette_scores`` and the fitted ``model``.

    Raises
    ------
    ValueError
        For missing or non-numeric feature columns, missing values, negative values in a
        log-scaled column, fewer distinct customers than clusters, or a bad parameter.

    Examples
    --------
    >>> from cpm_analysis.segments import rfm_scores
    >>> result = cluster_customers(rfm_scores(ds, "2024-06"), k=4, random_state=0)
    >>> result.profile[["name", "customers", "revenue_share"]].round(3)
                                           name  customers  revenue_share
    cluster
    0          Recent, very frequent, top spend        236          0.485
    1             Lapsing, frequent, high spend        501          0.333
    2        Very recent, infrequent, low spend        293          0.089
    3              Lapsing, one-time, low spend        564          0.094
    """
    model = CustomerClusters(
        n_clusters=k,
        columns=columns,
        log_columns=log_columns,
        value=value,
        k_range=k_range,
        sample_size=sample_size,
        silhouette_sample=silhouette_sample,
        random_state=random_state,
    ).fit(features)
    labels = pd.Series(model.labels_, index=features.index, name="cluster")
    return ClusterResult(
        labels=labels,
        profile=model.profile_,
        names=dict(model.names_),
        k=model.k_,
        silhouette=model.silhouette_,
        silhouette_scores=model.silhouette_scores_,
        model=model,
    )
