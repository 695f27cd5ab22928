"""Bernoulli restricted Boltzmann machine: a superset of scikit-learn's."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import (
    LEARNING_RATE,
    BoltzmannBase,
    atomic_fit,
    check_finite_state,
    params_digest,
    print_epoch,
    validate_unit_interval_X,
)
from ._cd import GradientWorkspace, cd_statistics_
from ._gibbs import (
    augmented_parameters,
    bernoulli_draw,
    center_statistics_,
    mean_hiddens,
    mean_visibles,
    parallel_tempering_step_,
    sample_bernoulli_,
    sparsity_step_,
)
from ._optim import (
    EarlyStopping,
    IterateAverage,
    next_epoch_rate,
    resume_from_live_,
    run_epochs,
    sgd_step_,
    start_progress,
    training_generator,
    warm_started,
)
from ._partition import (
    RBMAnnealingPath,
    free_energy,
    pseudo_likelihood,
    pseudo_likelihood_stochastic,
    rbm_log_partition_exact,
)
from ._sampling import make_generator
from ._threads import blas_threads_for

# Rows the verbose per-epoch pseudo-likelihood is estimated on.
_VERBOSE_ROWS = 1000
# A float32 fit whose minibatch products are below this many multiply-adds is
# carried out in float64 and its results stored as float32. A float32
# trajectory drifts from the float64 one by ~1e-7 per weight through the
# rounding of every update, which leaves weights near zero with no correct
# digit and makes the result depend on the CPU's BLAS kernel. At this size the
# per-call overheads set most of the time: float64 work measured 0.92-1.44x
# the float32 time, a few milliseconds per digits epoch
# (benchmarks/bench_float32_small.py; 1.2-1.8x at 2**16, hence the bound).
_FLOAT64_WORK = 2**13
# Held-out rows early stopping scores exactly after each epoch.
_VALIDATION_ROWS = 1000


class RBMChain:
    """Block-Gibbs chain of a Bernoulli RBM (chain-model protocol of _sampling)."""

    def __init__(self, W, b, c):
        self.W, self.b, self.c = W, b, c
        self.dtype = W.dtype

    def random_visible(self, n, rng):
        return (rng.random((n, self.W.shape[1])) < 0.5).astype(self.dtype)

    def init_state(self, v0):
        v = np.array(v0, dtype=self.dtype)
        return {"v": v, "p": v.copy()}

    def step_(self, state, rng):
        h = mean_hiddens(state["v"], self.W, self.c)
        sample_bernoulli_(h, h, rng)
        p = mean_visibles(h, self.W, self.b)
        state["p"] = p
        sample_bernoulli_(state["v"], p, rng)

    def visible(self, state, probabilities):
        return (state["p"] if probabilities else state["v"]).copy()


class BernoulliRBM(ClassNamePrefixFeaturesOutMixin, BoltzmannBase):
    """Bernoulli Restricted Boltzmann Machine (RBM).

    A drop-in superset of :class:`sklearn.neural_network.BernoulliRBM`: the
    same parameters, defaults, fitted attributes and methods, trained by the
    same algorithm by default (persistent contrastive divergence, PCD-1,
    with ``batch_size`` persistent chains). Beyond it: CD-k and PCD-k,
    momentum, weight decay, learning-rate schedules, visible biases
    initialised from the data, an exact (deterministic) pseudo-likelihood,
    sampling with parallel chains, exact and AIS partition functions and
    log-likelihoods. Sparse input is used as sparse, a minibatch at a time.

    The energy is E(v, h) = -h^T W v - b^T v - c^T h with
    ``W = components_``, ``b = intercept_visible_``, ``c = intercept_hidden_``.

    Parameters
    ----------
    n_components : int, default=256
        Number of binary hidden units.
    learning_rate : float, default=0.1
        Learning rate of the gradient steps (must be > 0).
    batch_size : int, default=10
        Number of examples per minibatch.
    n_iter : int, default=10
        Number of passes (epochs) over the training data.
    verbose : int, default=0
        If > 0, print one line per epoch with a pseudo-likelihood estimated
        cheaply (scikit-learn's one-unit estimator on at most 1000 rows).
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds initialisation and Gibbs sampling. An int gives a
        ``numpy.random.Generator`` through a ``SeedSequence``; a legacy
        ``RandomState`` is used as is and reproduces scikit-learn's random
        stream exactly.
    method : {"pcd", "cd", "pt", "fpcd"}, default="pcd"
        Persistent contrastive divergence (negative chains persist across
        updates, Tieleman 2008), contrastive divergence (chains restart at
        the minibatch, Hinton 2002), parallel tempering (persistent chains
        at several temperatures that swap states, Desjardins et al. 2010) or
        fast-weights PCD (the persistent chains run with the weights plus
        "fast weights" that learn the same gradient quickly and decay, which
        pushes the chains out of the modes they visited; Tieleman & Hinton
        2009).
    n_gibbs_steps : int, default=1
        The k of CD-k / PCD-k: Gibbs steps per update.
    n_chains : int, default=None
        Number of persistent chains for PCD; None uses ``batch_size``.
        Ignored for CD (one chain per example).
    momentum : float in [0, 1), default=0.0
        Momentum of the parameter updates.
    weight_decay : float, default=0.0
        L2 penalty on ``components_`` added to the gradient.
    learning_rate_schedule : {"constant", "linear", "invscaling"}, default="constant"
        "linear" decays the rate linearly to zero over ``n_iter`` epochs;
        "invscaling" uses ``learning_rate / epoch``. ``partial_fit`` always
        uses the constant rate.
    visible_bias_init : {"zeros", "data"}, default="zeros"
        "data" sets the initial visible biases to the log-odds of the
        (smoothed) mean of the training data (Hinton's practical guide).
    n_temperatures : int, default=10
        ``method="pt"`` only: number of replicas, at inverse temperatures
        evenly spaced from 1 down to 0, each with ``n_chains`` chains.
    centering : bool, default=False
        Centered gradient (Montavon & Mueller 2012; Melchior et al. 2016):
        visible and hidden offsets (moving averages of the data and of
        p(h | data), started at the data mean and 0.5) are subtracted inside
        the statistics. The model is still stored in standard form.
    centering_rate : float in (0, 1], default=0.01
        Rate of the offsets' moving averages.
    sparsity_target : float in (0, 1), default=0.1
        Target mean activation of the hidden units when ``sparsity_cost`` > 0.
    sparsity_cost : float, default=0.0
        Strength of the sparsity penalty (Lee, Ekanadham & Ng 2008): hidden
        biases move by ``learning_rate * sparsity_cost * (target - q)`` with q
        a moving average (0.9) of the mean of p(h | data).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, score it after every
        epoch by the exact pseudo-likelihood (on at most 1000 held-out rows),
        stop after ``n_iter_no_change`` epochs without an improvement of at
        least ``tol``, and keep the best parameters. Scores are in
        ``validation_scores_``.
    validation_fraction : float in (0, 1), default=0.1
    n_iter_no_change : int, default=5
    tol : float, default=1e-4
    fast_learning_rate : float, default=None
        ``method="fpcd"`` only: learning rate of the fast weights, constant
        whatever the schedule; None uses ``learning_rate``.
    fast_decay : float in [0, 1), default=0.95
        ``method="fpcd"`` only: factor the fast weights shrink by at every
        update (Tieleman & Hinton's 19/20).
    average : bool or int, default=False
        Iterate averaging (Polyak & Juditsky 1992; for RBMs Swersky et al.
        2010): the fitted parameters are the running mean of the parameters
        after every update, while training itself (the chains, momentum,
        the next ``partial_fit``) continues from the last iterate. True
        averages from the first update; an int starts once that many
        training samples have been seen (scikit-learn's ``SGDClassifier``
        convention). Lets the learning rate stay large, which keeps the
        persistent chains mixing, without its noise in the final model.
        Costs three passes over the parameters per update. Not combined
        with ``early_stopping``.
    pseudo_likelihood : {"exact", "stochastic"}, default="exact"
        How :meth:`score_samples` computes the pseudo-log-likelihood: exactly
        (the sum over every unit; deterministic; O(n D H)) or with
        scikit-learn's estimate (one random unit per sample, times D).
    shuffle : bool, default=False
        Draw a new order of the training samples before every epoch of
        ``fit`` (each minibatch is then a copy of rows gathered from ``X``).
        Off by default, as in scikit-learn's BernoulliRBM, which visits the
        same minibatches in the same order every epoch.
    dynamic_binarization : bool, default=False
        Train on a new binary draw of each minibatch every time it is used
        (each value x becomes 1 with probability x; sparse input stays
        sparse): grey-level data such as MNIST is then seen as a fresh sample
        of binary images every epoch, which regularizes like more data.
        Off by default, as in scikit-learn, where the values serve as
        probabilities in the positive phase. Binary data is unchanged by it
        (but the random stream differs). Applies to ``fit`` and
        ``partial_fit``.
    warm_start : bool, default=False
        When True, ``fit`` on a fitted model continues training for
        ``n_iter`` more epochs from exactly where the last fit stopped (the
        parameters, persistent chains, momentum, centering offsets, running
        averages, the schedule's epoch count and the random stream), so that
        ``fit`` with ``n_iter=a`` followed by a warm ``fit`` with ``n_iter=b``
        gives bit for bit the model of one ``fit`` with ``n_iter=a + b``, also
        across a pickle round-trip in between. Two exceptions, by their
        nature: ``learning_rate_schedule="linear"`` decays towards the end of
        the current fit, and ``early_stopping`` draws its held-out rows anew
        for each fit. The data of a warm fit must have the same features.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Weight matrix W.
    intercept_hidden_ : ndarray of shape (n_components,)
        Biases c of the hidden units.
    intercept_visible_ : ndarray of shape (n_features,)
        Biases b of the visible units.
    h_samples_ : ndarray of shape (n_chains, n_components)
        Hidden states of the persistent negative chains.
    last_components_, last_intercept_hidden_, last_intercept_visible_ : ndarray
        With ``average``, the last iterate behind the averaged parameters
        (training continues from it); otherwise copies of the parameters.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when they are all strings.
    n_iter_ : int
        Epochs run by ``fit`` (fewer than ``n_iter`` after early stopping);
        with ``warm_start``, counted over all the fits since the first.
    t_ : int
        Parameter updates (minibatches) run, ``fit`` and ``partial_fit``
        together.
    history_ : list of dict
        One entry per epoch of ``fit`` (over warm starts too): ``epoch``, ``t``
        (updates so far), ``learning_rate``, ``seconds`` and, with early
        stopping, ``validation_score``.
    validation_scores_ : list of float
        With ``early_stopping``: held-out pseudo-likelihood after each epoch.
    log_partition_info_ : dict
        Set by :meth:`log_partition`: the last log Z, its interval, effective
        sample size and the settings behind it.

    See Also
    --------
    sklearn.neural_network.BernoulliRBM : The estimator this one replaces.
    skebm.DBN : A stack of RBMs.

    References
    ----------
    Hinton, G. E. (2002). Training products of experts by minimizing
    contrastive divergence. Neural Computation 14, 1771-1800.

    Tieleman, T. (2008). Training restricted Boltzmann machines using
    approximations to the likelihood gradient. ICML.

    Salakhutdinov, R. and Murray, I. (2008). On the quantitative analysis of
    deep belief networks. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skebm import BernoulliRBM
    >>> X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    >>> model = BernoulliRBM(n_components=2, random_state=0)
    >>> model.fit(X)
    BernoulliRBM(n_components=2, random_state=0)
    >>> model.transform(X).shape
    (4, 2)
    """

    _fitted_attributes = ("components_", "intercept_hidden_", "intercept_visible_")

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [LEARNING_RATE],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state", np.random.Generator],
        "method": [StrOptions({"pcd", "cd", "pt", "fpcd"})],
        "n_gibbs_steps": [Interval(Integral, 1, None, closed="left")],
        "n_chains": [Interval(Integral, 1, None, closed="left"), None],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "learning_rate_schedule": [StrOptions({"constant", "linear", "invscaling"})],
        "visible_bias_init": [StrOptions({"zeros", "data"})],
        "n_temperatures": [Interval(Integral, 2, None, closed="left")],
        "centering": ["boolean"],
        "centering_rate": [Interval(Real, 0, 1, closed="right")],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
        "sparsity_cost": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "fast_learning_rate": [LEARNING_RATE, None],
        "fast_decay": [Interval(Real, 0, 1, closed="left")],
        "average": [Interval(Integral, 0, None, closed="neither"), "boolean"],
        "pseudo_likelihood": [StrOptions({"exact", "stochastic"})],
        "shuffle": ["boolean"],
        "dynamic_binarization": ["boolean"],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        n_components=256,
        *,
        learning_rate=0.1,
        batch_size=10,
        n_iter=10,
        verbose=0,
        random_state=None,
        method="pcd",
        n_gibbs_steps=1,
        n_chains=None,
        momentum=0.0,
        weight_decay=0.0,
        learning_rate_schedule="constant",
        visible_bias_init="zeros",
        n_temperatures=10,
        centering=False,
        centering_rate=0.01,
        sparsity_target=0.1,
        sparsity_cost=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        tol=1e-4,
        fast_learning_rate=None,
        fast_decay=0.95,
        average=False,
        pseudo_likelihood="exact",
        shuffle=False,
        dynamic_binarization=False,
        warm_start=False,
    ):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.method = method
        self.n_gibbs_steps = n_gibbs_steps
        self.n_chains = n_chains
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.learning_rate_schedule = learning_rate_schedule
        self.visible_bias_init = visible_bias_init
        self.n_temperatures = n_temperatures
        self.centering = centering
        self.centering_rate = centering_rate
        self.sparsity_target = sparsity_target
        self.sparsity_cost = sparsity_cost
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.fast_learning_rate = fast_learning_rate
        self.fast_decay = fast_decay
        self.average = average
        self.pseudo_likelihood = pseudo_likelihood
        self.shuffle = shuffle
        self.dynamic_binarization = dynamic_binarization
        self.warm_start = warm_start

    # ------------------------------------------------------------------ fit
    def _validate_train_X(self, X, reset, min_samples=None):
        return validate_unit_interval_X(self, X, reset=reset, min_samples=min_samples)

    def _initialize(self, X, rng):
        n, D = X.shape
        dtype = X.dtype
        # float64 draws for both dtypes: float32 and float64 fits share a stream.
        self.components_ = np.ascontiguousarray(
            rng.normal(0, 0.01, (self.n_components, D)), dtype=dtype
        )
        self._n_features_out = self.n_components
        self.intercept_hidden_ = np.zeros(self.n_components, dtype=dtype)
        self.intercept_visible_ = np.zeros(D, dtype=dtype)
        if self.visible_bias_init == "data":
            p = (np.asarray(X.sum(axis=0), dtype=np.float64).ravel() + 1.0) / (n + 2.0)
            self.intercept_visible_[...] = np.log(p) - np.log1p(-p)
        n_chains = self.batch_size if self.n_chains is None else self.n_chains
        self.h_samples_ = np.zeros((n_chains, self.n_components), dtype=dtype)
        for name in (
            "_velocity",
            "_data_sum",
            "_offsets",
            "_pt_v",
            "_fast",
            "_average",
            "_average_state",  # before session 38: [mean, count] and _n_seen
            "_n_seen",
            "_live_theta",
            "_work64",
        ):
            self.__dict__.pop(name, None)
        self._training_state(X, rng)

    def _training_state(self, X, rng):
        """Create whatever optimiser state is missing (momentum, offsets, PT
        replicas), e.g. for parameters set by hand or loaded
        from elsewhere before ``partial_fit``."""
        D = X.shape[1]
        dtype = self.components_.dtype
        if not hasattr(self, "_velocity"):
            self._velocity = None
            self._sparsity_q = None
        if not hasattr(self, "_fast"):
            self._fast = None  # fast weights, created by the first fpcd update
        if not hasattr(self, "_offsets"):
            self._offsets = None
            if self.centering:
                mu = np.asarray(X.mean(axis=0), dtype=dtype).ravel()
                self._offsets = (mu, np.full(self.n_components, 0.5, dtype=dtype))
        if "_average_state" in self.__dict__:
            # a model pickled before session 38: [mean, count] and _n_seen
            old = self.__dict__.pop("_average_state")
            self._average = IterateAverage.from_legacy_state(
                None if old is None else ([old[0]], old[1]),
                self.__dict__.pop("_n_seen", 0),
            )
        if getattr(self, "_average", None) is None:
            self._average = IterateAverage()
        live = self.__dict__.pop("_live_theta", None)
        # The attributes show the average; training goes on from the last
        # iterate -- unless the user has set other parameters since.
        if live is not None and not resume_from_live_(
            [self._theta()], [live], self._average.mean
        ):
            self._average = IterateAverage()
        if not hasattr(self, "_pt_v"):
            self._pt_v = None
            if self.method == "pt":
                shape = (self.n_temperatures * self.h_samples_.shape[0], D)
                self._pt_v = (rng.random(shape) < 0.5).astype(dtype)
                self._pt_parity = 0
                self.pt_swap_rate_ = np.nan

    def _theta(self):
        """The augmented parameter matrix the fitted attributes are views of.

        Built on first use, and again whenever the attributes no longer view
        it (after unpickling, or when a user assigned new arrays).
        """
        theta = getattr(self, "_theta_", None)
        W, b, c = self.components_, self.intercept_visible_, self.intercept_hidden_
        if theta is None or not all(x.base is theta for x in (W, b, c)):
            theta = self._theta_ = augmented_parameters(W, b, c)
            H, D = W.shape
            self.components_ = theta[:H, :D]
            self.intercept_visible_ = theta[H, :D]
            self.intercept_hidden_ = theta[:H, D]
        return theta

    def _update(self, v_pos, rng, lr):
        """One gradient step on minibatch ``v_pos``."""
        self.t_ = getattr(self, "t_", 0) + 1
        if not hasattr(self, "_ws"):
            self._ws = GradientWorkspace()
        theta = self._theta()
        if self.dynamic_binarization:
            dense = not hasattr(v_pos, "tocsr")
            out = self._ws.get("v_draw", v_pos.shape, theta.dtype) if dense else None
            v_pos = bernoulli_draw(v_pos, rng, out=out)
        persistent = self.method in ("pcd", "fpcd")
        B = v_pos.shape[0]
        theta_chain = None
        if self.method == "fpcd":
            if self._fast is None or self._fast.shape != theta.shape:
                self._fast = np.zeros_like(theta)
            theta_chain = self._ws.get("theta_chain", theta.shape, theta.dtype)
            np.add(theta, self._fast, out=theta_chain)
        v_chain = None
        if self.method == "pt":
            m = self.h_samples_.shape[0]
            K = self.n_temperatures
            betas = np.linspace(1.0, 0.0, K)
            for _ in range(self.n_gibbs_steps):
                rate = parallel_tempering_step_(
                    self._pt_v, theta, betas, rng, self._pt_parity
                )
                self._pt_parity ^= 1
                # swap acceptance, smoothed over updates
                prev = self.pt_swap_rate_
                self.pt_swap_rate_ = (
                    rate if np.isnan(prev) else 0.95 * prev + 0.05 * rate
                )
            v_chain = self._pt_v[:m]
        # Statistics are sums over the minibatch; folding lr / B into them
        # lets the plain update happen inside the gradient product.
        scale = lr / B
        plain = not (
            self.momentum or self._offsets is not None or theta_chain is not None
        )
        G, gb, h_next, h_pos_mean = cd_statistics_(
            self._ws,
            theta,
            v_pos,
            rng,
            h_chain=self.h_samples_ if persistent else None,
            v_chain=v_chain,
            n_steps=self.n_gibbs_steps,
            scale=scale,
            accumulate=plain,
            # the same order as below: the gradient at W, then W(1 - lr wd)
            decay=1.0 - lr * self.weight_decay if plain and self.weight_decay else None,
            need_h_mean=self._offsets is not None or bool(self.sparsity_cost),
            theta_chain=theta_chain,
        )
        if persistent:
            self.h_samples_ = h_next
        H = theta.shape[0] - 1
        if not plain:
            if self._offsets is not None:
                db = center_statistics_(G, gb, *self._offsets, scale)
                self._move_offsets(v_pos, h_pos_mean)
            else:
                db = gb * scale
            if theta_chain is not None:
                # the fast weights follow the gradient alone (no weight decay or
                # momentum), at their own constant rate, and decay
                fast, k = self._fast, theta.dtype.type(self._fast_rate() / lr)
                fast *= theta.dtype.type(self.fast_decay)
                fast[:H] += k * G
                fast[H, :-1] += k * db
            if self.momentum and self._velocity is None:
                self._velocity = np.zeros_like(theta)
            vel = self._velocity

            def parts(a, last):  # W, c and b inside the packed theta layout
                return [a[:H, :-1], a[:H, -1], last]

            sgd_step_(
                parts(theta, theta[H, :-1]),
                parts(G, db),
                1.0,  # G and db carry the rate already (scale = lr / B)
                velocities=parts(vel, vel[H, :-1]) if self.momentum else None,
                momentum=self.momentum,
                weight_decay=lr * self.weight_decay,
                decayed=[True, False, False],
            )
        if self.average is not False:
            self._accumulate_average(theta, B)
        if self.sparsity_cost:
            self._sparsity_q = sparsity_step_(
                theta[:H, -1],
                self._sparsity_q,
                h_pos_mean,
                self.sparsity_target,
                self.sparsity_cost,
                lr,
            )

    def _accumulate_average(self, theta, n_samples):
        """Fold the current iterate into the running mean of the parameters."""
        # read at every update, so that set_params(average=...) between fits
        # takes effect at once
        self._average.start = 0 if self.average is True else int(self.average)
        self._average.update(
            [theta],
            n_samples,
            scratch=lambda i, shape: self._ws.get("average_diff", shape, np.float64),
        )

    def _publish_average(self):
        """Show the averaged parameters; keep the last iterate for training."""
        avg = getattr(self, "_average", None)
        if avg is None:
            return
        if self.average is False:
            # switched off since (set_params): the last iterate is the model
            avg.mean, avg.count = None, 0
            return
        live = avg.publish([self._theta()])
        if live is not None:
            self._live_theta = live[0]

    def _last_iterate(self, rows, cols):
        check_is_fitted(self)
        live = getattr(self, "_live_theta", None)
        theta = self._theta() if live is None else live
        return np.array(theta[rows, cols])

    @property
    def last_components_(self):
        """With ``average``: the last iterate's weights behind the averaged
        ``components_`` (what training continues from); else ``components_``."""
        return self._last_iterate(slice(0, -1), slice(0, -1))

    @property
    def last_intercept_hidden_(self):
        """As ``last_components_``, for ``intercept_hidden_``."""
        return self._last_iterate(slice(0, -1), -1)

    @property
    def last_intercept_visible_(self):
        """As ``last_components_``, for ``intercept_visible_``."""
        return self._last_iterate(-1, slice(0, -1))

    def _fast_rate(self):
        rate = self.fast_learning_rate
        return self.learning_rate if rate is None else rate

    def _move_offsets(self, v_pos, h_pos_mean):
        """Moving averages of the centering offsets."""
        mu, lam = self._offsets
        nu = self.centering_rate
        mu *= 1 - nu
        mu += nu * np.asarray(v_pos.mean(axis=0), dtype=mu.dtype).ravel()
        lam *= 1 - nu
        lam += nu * h_pos_mean

    def _track_data(self, X, reset=False):
        """Data sums for the AIS base rates: of this fit's data (``reset``) or
        of every minibatch so far (``partial_fit``)."""
        if reset or not hasattr(self, "_data_sum"):
            self._data_sum = np.zeros(X.shape[1])
            self._data_count = 0
        self._data_sum += np.asarray(X.sum(axis=0), dtype=np.float64).ravel()
        self._data_count += X.shape[0]

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the model to the data X.

        With ``warm_start=True`` and a fitted model, training continues from
        where the last fit stopped (parameters, chains, momentum, offsets,
        averages, the epoch count of the schedule and the random stream) for
        ``n_iter`` more epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, values in [0, 1] (treated as probabilities).
        y : Ignored

        Returns
        -------
        self : BernoulliRBM
            The fitted model.
        """
        warm = warm_started(self, "components_")
        X = self._validate_train_X(X, reset=not warm)
        if self.early_stopping and self.average is not False:
            raise ValueError(
                "average cannot be combined with early_stopping: early stopping "
                "keeps the best epoch's parameters, averaging their mean."
            )
        training_generator(self, warm)
        X_val = None
        if self.early_stopping:
            X, X_val = self._split_validation(X, self.random_state_)
        dtype = self.components_.dtype if warm else X.dtype
        store = self._working_precision(dtype, X.shape[1], self.batch_size)
        X = X.astype(np.float64 if store is not None else dtype, copy=False)
        if warm:
            if store is not None:
                self._cast_state(np.float64)
            self._training_state(X, self.random_state_)
        else:
            self._initialize(X, self.random_state_)
        start_progress(self, warm)
        self._track_data(X, reset=True)
        stopper = None
        if X_val is not None:
            # held-out exact pseudo-likelihood; keeps the best augmented theta
            stopper = EarlyStopping(
                self,
                lambda: np.mean(
                    pseudo_likelihood(
                        X_val,
                        self.components_,
                        self.intercept_visible_,
                        self.intercept_hidden_,
                    )
                ),
                lambda: [self._theta()],
            )
        run_epochs(
            self,
            X,
            self.n_iter,
            lambda v, lr: self._update(v, self.random_state_, lr),
            work=self.batch_size * X.shape[1] * self.n_components,
            begin_epoch=lambda horizon: {"lr": next_epoch_rate(self, horizon)},
            end_epoch=None if stopper is None else stopper.end_epoch,
            library="scipy",  # cd_statistics_'s products: _cd._product_
        )
        if stopper is not None:
            stopper.restore_best()
        self._publish_average()
        self._drop_workspace()
        if store is not None:
            self._cast_state(store)
        return self

    def _working_precision(self, dtype, n_features, batch):
        """float32 if a float32 model is to be trained in float64, else None.

        See ``_FLOAT64_WORK``.
        """
        if dtype != np.float32:
            return None
        if batch * n_features * self.n_components >= _FLOAT64_WORK:
            return None
        return np.float32

    _STATE_ARRAYS = (
        "components_",
        "intercept_hidden_",
        "intercept_visible_",
        "h_samples_",
        "_velocity",
        "_fast",
        "_pt_v",
        "_live_theta",
        "_sparsity_q",
    )

    def _cast_state(self, dtype):
        """Cast parameters, chains and optimiser state to ``dtype`` (new arrays,
        so the chains no longer view a workspace buffer).

        Storing a float64 working state as float32 keeps the float64 arrays
        aside (small: only small models are worked in float64), and casting
        back to float64 restores them when the float32 model is still what was
        stored, so that ``warm_start`` and ``partial_fit`` continue the float64
        trajectory exactly instead of from its rounding.
        """
        self.__dict__.pop("_theta_", None)  # rebuilt from the attributes
        self.__dict__.pop("_ws", None)  # buffers typed by the old dtype
        names = [n for n in (*self._STATE_ARRAYS, "_offsets") if hasattr(self, n)]
        if np.dtype(dtype) == np.float64:
            shadow = self.__dict__.pop("_work64", None)
            if shadow is not None and self._shadow_matches(shadow):
                self.__dict__.update(shadow)
                return
        else:
            # the float64 arrays themselves: the casts below make new ones
            self._work64 = {n: getattr(self, n) for n in names}
        for name in names:
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                setattr(self, name, value.astype(dtype))
            elif isinstance(value, tuple):  # the centering offsets
                setattr(self, name, tuple(mu.astype(dtype) for mu in value))

    def _shadow_matches(self, shadow):
        """Whether the stored float32 state is the rounding of ``shadow``."""

        def parts(x):  # the offsets are a tuple of arrays, the rest one each
            return x if isinstance(x, tuple) else (x,)

        for name, value in shadow.items():
            old, new = parts(value), parts(getattr(self, name, None))
            if len(old) != len(new):
                return False
            for a, b in zip(old, new, strict=True):
                if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
                    if a.shape != b.shape or not np.array_equal(a.astype(b.dtype), b):
                        return False
                elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                    return False
        return True

    def _split_validation(self, X, rng):
        n = X.shape[0]
        n_val = int(round(self.validation_fraction * n))
        if n_val < 1 or n - n_val < 2:
            raise ValueError(
                f"early_stopping needs at least 1 validation and 2 training "
                f"samples; validation_fraction={self.validation_fraction} of "
                f"{n} samples gives {n_val} and {n - n_val}."
            )
        order = rng.permutation(n)
        return X[np.sort(order[n_val:])], X[np.sort(order[:n_val])][:_VALIDATION_ROWS]

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Fit the model to one more minibatch ``X`` (one gradient step).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, values in [0, 1].
        y : Ignored

        Returns
        -------
        self : BernoulliRBM
            The fitted model.
        """
        first = not hasattr(self, "components_")
        # one row is enough (scikit-learn's BernoulliRBM takes it too)
        X = self._validate_train_X(X, reset=first, min_samples=1)
        if not hasattr(self, "random_state_"):
            self.random_state_ = make_generator(self.random_state)
        # the model keeps its dtype; a first call takes the data's
        dtype = X.dtype if first else self.components_.dtype
        store = self._working_precision(dtype, X.shape[1], X.shape[0])
        if store is not None:
            X = X.astype(np.float64)
            if not first:
                self._cast_state(np.float64)
        if first:
            self._initialize(X, self.random_state_)
        else:
            self._training_state(X, self.random_state_)
        self._track_data(X)
        work = X.shape[0] * X.shape[1] * self.n_components
        with blas_threads_for(work, "scipy"):
            self._update(X, self.random_state_, self.learning_rate)
        self._publish_average()
        self._own_chains()
        check_finite_state(self)
        if store is not None:
            self._cast_state(store)
        return self

    def _own_chains(self):
        # During training h_samples_ is a view of a workspace buffer (the
        # chain continues in place); users get an array of their own.
        h = getattr(self, "h_samples_", None)
        if h is not None and h.base is not None:
            self.h_samples_ = np.array(h, order="C")

    def _drop_workspace(self):
        # Buffers are not model state: keep pickles small.
        self._own_chains()
        self.__dict__.pop("_ws", None)

    def __getstate__(self):
        self._own_chains()
        state = super().__getstate__()
        # The attributes are views of _theta_; pickle them alone (as arrays).
        state.pop("_theta_", None)
        state.pop("_ws", None)
        return state

    def _print_progress(self, X, epoch, elapsed):
        rows = X[: min(X.shape[0], _VERBOSE_ROWS)]
        rng = np.random.default_rng(epoch)
        pl = pseudo_likelihood_stochastic(
            rows, self.components_, self.intercept_visible_, self.intercept_hidden_, rng
        )
        print_epoch(self, epoch, "pseudo-likelihood", float(np.mean(pl)), elapsed)

    # ----------------------------------------------------------- transform
    def transform(self, X):
        """Compute the hidden layer activation probabilities, P(h=1|v=X).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data to be transformed.

        Returns
        -------
        h : ndarray of shape (n_samples, n_components)
            Latent representations of the data.
        """
        X = self._validate_eval_X(X)
        return self._mean_hiddens(X)

    def _mean_hiddens(self, v):
        """p(h = 1 | v) for validated ``v`` (scikit-learn's private name)."""
        return mean_hiddens(v, self.components_, self.intercept_hidden_)

    def _sample_hiddens(self, v, rng):
        """Binary draws from p(h | v) (scikit-learn's private name)."""
        p = self._mean_hiddens(v)
        return sample_bernoulli_(np.empty(p.shape, dtype=bool), p, rng)

    def _sample_visibles(self, h, rng):
        """Binary draws from p(v | h) (scikit-learn's private name)."""
        p = mean_visibles(h, self.components_, self.intercept_visible_)
        return sample_bernoulli_(np.empty(p.shape, dtype=bool), p, rng)

    def _free_energy(self, v):
        return free_energy(
            v, self.components_, self.intercept_visible_, self.intercept_hidden_
        )

    def _free_energy_validated(self, X):
        return self._free_energy(X)

    def gibbs(self, v):
        """Perform one Gibbs sampling step.

        Parameters
        ----------
        v : {array-like, sparse matrix} of shape (n_samples, n_features)
            Values of the visible layer to start from.

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features)
            Values of the visible layer after one Gibbs step (boolean).
        """
        v = self._validate_eval_X(v)
        if not hasattr(self, "random_state_"):
            self.random_state_ = make_generator(self.random_state)
        h = self._sample_hiddens(v, self.random_state_)
        return self._sample_visibles(h, self.random_state_)

    def score_samples(self, X):
        """Pseudo-log-likelihood of each row of ``X``.

        By default (``pseudo_likelihood="exact"``) the exact
        sum_i log p(x_i | x_{-i}) over every unit: deterministic, computed in
        chunks of rows so memory stays bounded, O(n_samples n_features
        n_components). With ``"stochastic"``, scikit-learn's unbiased
        estimate from one random unit per sample.

        Unlike every other method, this one takes values outside [0, 1], as
        scikit-learn's ``BernoulliRBM.score_samples`` does (its test-suite
        scores such rows): the result is a sum of log-sigmoids, so it is
        <= 0 whatever the input, but for such rows it is not a
        pseudo-likelihood of any binary vector. The exact
        :meth:`log_likelihood`, :meth:`free_energy`, :meth:`transform` and
        :meth:`gibbs` refuse them.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Values of the visible layer.

        Returns
        -------
        pseudo_likelihood : ndarray of shape (n_samples,)
        """
        X = self._validate_eval_X(X, check_values=False)
        args = (self.components_, self.intercept_visible_, self.intercept_hidden_)
        if self.pseudo_likelihood == "stochastic":
            return pseudo_likelihood_stochastic(
                X, *args, make_generator(self.random_state)
            )
        # element-wise work dominates; its small products need no BLAS threads
        with blas_threads_for(None):
            return pseudo_likelihood(X, *args)

    # ---------------------------------------- hooks for generation and log Z
    def _chain_model(self):
        return RBMChain(
            self.components_, self.intercept_visible_, self.intercept_hidden_
        )

    def _exact_size(self):
        return min(self.components_.shape)

    def _log_partition_exact(self, n_jobs):
        return rbm_log_partition_exact(
            self.components_,
            self.intercept_visible_,
            self.intercept_hidden_,
            n_jobs=n_jobs,
        )

    def _base_rate_biases(self):
        """Log-odds of the smoothed training-data mean (AIS base model)."""
        D = self.components_.shape[1]
        count = getattr(self, "_data_count", 0)
        total = getattr(self, "_data_sum", np.zeros(D))
        p = (total + 1.0) / (count + 2.0)
        return np.log(p) - np.log1p(-p)

    def _annealing_path(self):
        return RBMAnnealingPath(
            self.components_,
            self.intercept_visible_,
            self.intercept_hidden_,
            self._base_rate_biases(),
        )

    def _params_digest(self):
        return params_digest(
            self.components_, self.intercept_visible_, self.intercept_hidden_
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
