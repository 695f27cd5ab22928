"""Deep Boltzmann machine: the estimator (mean-field learning, persistent
chains, AIS bound) and its doubling-trick pretraining.

The layer numbering, the energy and the parity-class maths are in
``_dbm_math.py`` (MATH.md, "Deep Boltzmann machine").
"""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassNamePrefixFeaturesOutMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import (
    EXACT_MAX_UNITS,
    LEARNING_RATE,
    BoltzmannBase,
    Timer,
    atomic_fit,
    check_finite_state,
    check_unit_interval,
    params_digest,
    print_epoch,
    validate_unit_interval_X,
)
from ._cd import GradientWorkspace, cd_statistics_
from ._dbm_math import (
    DBMAnnealingPath,
    DBMChain,
    GaussianDBMAnnealingPath,
    _dot,
    _EvenStateChain,
    _hidden_enumeration,
    _parity_units,
    clip_row_norms_,
    dbm_activation,
    dbm_free_energy_exact,
    dbm_gibbs_sweep_,
    dbm_importance_log_f,
    dbm_log_partition_exact,
    dbm_mean_field,
    dbm_variational_bound,
    dbm_visible_input,
)
from ._gaussian import (
    GaussianBernoulliRBM,
    _column_moments,
    _log_variance_statistic,
    _quadratic,
    variance_scale,
)
from ._gibbs import (
    bernoulli_draw,
    center_layer_statistics_,
    sample_bernoulli_,
    sigmoid_,
    sparsity_step_,
)
from ._optim import (
    IterateAverage,
    decayed_rate,
    minibatch_slices,
    next_epoch_rate,
    publish_means_,
    reset_progress,
    resume_from_live_,
    run_epochs,
    scheduled_momentum,
    sgd_step_,
    start_progress,
    training_generator,
    warm_started,
)
from ._partition import (
    ais_betas,
    ais_summary,
    logmeanexp,
)
from ._rbm import BernoulliRBM
from ._sampling import make_generator, run_ais, run_chains, seed_sequence
from ._threads import blas_threads_for

# Gibbs sweeps that run chains added by a warm start apart from their copies.
_GROWN_CHAIN_SWEEPS = 200

__all__ = ["DBM"]

# Rows the verbose per-epoch bound is computed on.
_VERBOSE_ROWS = 1000
# "auto" free energy enumerates the smaller parity class of hidden units up to
# this size (2**16 hidden states per row), else it is the mean-field bound.
EXACT_FREE_ENERGY_MAX_UNITS = 16
# Elements of the (rows x states) blocks built by the exact free energy.
_FE_CHUNK_ELEMENTS = 2**18


class _ScaledRBM(BernoulliRBM):
    """BernoulliRBM with the doubling trick (duplicated, tied units) for pretraining."""

    _visible_copies = 1
    _hidden_copies = 1

    def _update(self, v_pos, rng, lr):
        if self.dynamic_binarization:
            v_pos = bernoulli_draw(v_pos, rng)
        if not hasattr(self, "_ws"):
            self._ws = GradientWorkspace()
        theta = self._theta()
        persistent = self.method == "pcd"
        G, gb, h_next, _ = cd_statistics_(
            self._ws,
            theta,
            v_pos,
            self.random_state_,
            h_chain=self.h_samples_ if persistent else None,
            n_steps=self.n_gibbs_steps,
            visible_copies=self._visible_copies,
            hidden_copies=self._hidden_copies,
        )
        if persistent:
            self.h_samples_ = h_next  # sums of the hidden copies
        H = theta.shape[0] - 1
        W, b, c = theta[:H, :-1], theta[H, :-1], theta[:H, -1]
        B = v_pos.shape[0]
        if self.momentum and self._velocity is None:
            self._velocity = [np.zeros_like(W), np.zeros_like(b), np.zeros_like(c)]
        # the statistics are sums over the batch: decay and rate scaled by B
        sgd_step_(
            [W, b, c],
            [G[:, :-1], gb, G[:, -1]],
            lr / B,
            velocities=self._velocity if self.momentum else None,
            momentum=self.momentum,
            weight_decay=self.weight_decay * B,
            decayed=[True, False, False],
        )

    def _mean_hiddens(self, v):
        a = _dot(v, self.components_.T)
        a *= a.dtype.type(self._visible_copies)
        a += self.intercept_hidden_
        return sigmoid_(a)


class _BottomRBM(_ScaledRBM):
    _visible_copies = 2


class _TopRBM(_ScaledRBM):
    _hidden_copies = 2


# --------------------------------------------------------------------------
# Estimator
# --------------------------------------------------------------------------
class DBM(ClassNamePrefixFeaturesOutMixin, BoltzmannBase):
    """Deep Boltzmann machine with binary units (Salakhutdinov & Hinton 2009).

    An undirected stack of binary layers v - h^1 - ... - h^L with energy
    E = -sum_l h^l . W^l h^{l-1} - sum_l b^l . h^l (h^0 = v). Training is
    greedy layer-wise pretraining with the doubling trick, then joint
    training: the data-dependent statistics come from a mean-field posterior,
    the model statistics from persistent Gibbs chains ("fantasy particles")
    that alternate the odd and the even layers. With one hidden layer the
    model is a :class:`~skebm.BernoulliRBM`.

    With ``visible_units="gaussian"`` the visible layer is real-valued, in
    the parameterisation of :class:`~skebm.GaussianBernoulliRBM` (Cho, Ilin
    & Raiko 2011): E = sum_i (v_i - b_i)^2 / (2 s_i) - (v / s) . W^1T h^1
    - ... (the hidden terms as above), so p(v | h^1) = N(b + W^1T h^1,
    diag s) and h^1 sees v / s. Every method then works with densities:
    ``score_samples``, ``free_energy`` and ``log_likelihood`` are in nats of
    a log-density, ``sample`` draws real vectors (``probabilities=True``: the
    means of p(v | h^1)), exact log Z enumerates the odd layers (integrating
    v out couples the units of h^1) with v integrated in closed form, and
    AIS starts from a Gaussian base matched to the data. Standardize the
    data first.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(500, 1000)
        Units of each hidden layer, bottom first (at least one layer).
    visible_units : {"bernoulli", "gaussian"}, default="bernoulli"
        "bernoulli": data in [0, 1] (probabilities of binary units, sparse
        input accepted); "gaussian": any finite real data (dense only: the
        quadratic energy terms make every entry count), Gaussian visible
        units with per-feature variances ``variances_``. A fitted model
        keeps its unit type; ``warm_start`` cannot change it.
    variance : {"learned", "fixed"}, default="learned"
        Gaussian visible units only. "learned": the log-variances are
        trained, by the pretraining GaussianBernoulliRBM and then in joint
        training (the statistic (v - b)^2 / (2 s) - v (W^1T h^1) / s, data
        under the mean-field posterior minus the chains), kept between
        ``variance_floor_`` and ``variance_ceiling_``; "fixed": they stay at
        the training data's variances (1 on standardized data).
    min_variance : float in (0, 1], default=0.01
        Gaussian visible units only: the floor of each learned variance as a
        fraction of the feature's variance in the data of the first fit, and
        its inverse the ceiling, as in :class:`~skebm.GaussianBernoulliRBM`
        (which also handles constant features the same way: they take the
        mean variance of the others as their scale).
    learning_rate : float, default=0.002
        Learning rate of joint training (per example-averaged gradient). Keep
        it small: with large steps the persistent chains cannot follow the
        model and the bound degrades.
    batch_size : int, default=100
        Examples per minibatch.
    n_iter : int, default=10
        Epochs of joint training.
    n_chains : int, default=None
        Number of persistent chains (fantasy particles); None uses
        ``batch_size``.
    n_gibbs_steps : int, default=5
        Gibbs sweeps of the persistent chains per update (the paper's 5).
    mean_field_max_iter : int, default=10
        Maximum mean-field sweeps per example (training, transform, score).
    mean_field_tol : float, default=1e-5
        A row's mean-field iteration stops when the mean absolute change of
        every layer falls below this.
    momentum : float in [0, 1), default=0.5
        Momentum of joint training (and of pretraining).
    final_momentum : float in [0, 1), default=None
        If set, joint epochs after ``momentum_switch_epoch`` use this momentum
        instead of ``momentum`` (Salakhutdinov & Hinton's 0.5, then 0.9).
    momentum_switch_epoch : int, default=5
        The last joint epoch at ``momentum`` when ``final_momentum`` is set.
    weight_decay : float, default=0.0
        L2 penalty on the weights (joint training and pretraining).
    learning_rate_schedule : {"constant", "linear", "invscaling", "exponential"}, \
            default="constant"
        The rate of each joint epoch. "linear" and "invscaling" as in
        :class:`~skebm.BernoulliRBM`; "exponential" is the schedule of
        Salakhutdinov's MATLAB code: ``learning_rate / learning_rate_decay**t``
        after t joint updates, never below ``learning_rate_floor``, evaluated
        at the start of each epoch (it changes by under 1 % within an MNIST
        epoch). ``partial_fit`` always uses the constant rate.
    learning_rate_decay : float >= 1, default=1.000015
        The factor of the "exponential" schedule, per update.
    learning_rate_floor : float >= 0, default=0.0
        The smallest rate of the "exponential" schedule.
    pretrain : bool, default=True
        Greedy pretraining with the doubling trick before joint training:
        the bottom RBM sees its input twice, the top RBM has its hidden
        units twice, the weights of the middle RBMs are halved when composed,
        and the biases of a hidden layer shared by two RBMs are averaged. If
        False, weights start at N(0, 0.01^2), hidden biases at zero and
        visible biases at the log-odds of the data mean (Gaussian visibles:
        the data mean, and the data variances as ``variances_``).
        With Gaussian visible units the bottom layer is a plain
        :class:`~skebm.GaussianBernoulliRBM` (its weights, biases and
        variances are taken as they are), not doubled: read through the mean
        of its two copies, a doubled-input Gaussian RBM is a
        GaussianBernoulliRBM with half the variances, so the DBM would start
        from twice the variances the data needs. Its h^1 therefore starts
        over-driven (it gets the whole bottom-up input plus the top-down
        one); joint training corrects the weights.
    pretrain_n_iter : int, default=10
        Epochs of each pretraining RBM.
    pretrain_learning_rate : float, default=0.05
        Learning rate of the pretraining RBMs.
    pretrain_method : {"cd", "pcd"}, default="cd"
        Training of the pretraining RBMs.
    pretrain_n_gibbs_steps : int, default=1
        The k of CD-k / PCD-k in pretraining.
    transform_layers : {"top", "all"}, default="top"
        :meth:`transform` returns the mean-field posterior of the top hidden
        layer, or of every hidden layer concatenated (bottom first).
    log_partition_params : dict, default=None
        Keyword arguments of :meth:`log_partition` used by
        :meth:`score_samples` when no valid cached log Z exists (e.g.
        ``{"method": "ais", "n_betas": 2000, "n_runs": 100}``). By default:
        method "auto" (exact enumeration of the smaller parity class of
        layers when it has at most 24 units, else AIS with 14 500
        temperatures and 100 runs), ``n_jobs`` below, and a ``random_state``
        fixed at fit.
    n_jobs : int, default=None
        Joblib workers for the log Z of :meth:`score_samples`. Results never
        depend on it.
    verbose : int, default=0
        One line per epoch with the mean-field bound plus log Z (i.e. without
        the partition function) on at most 1000 training rows.
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds initialisation, pretraining, the chains, and the AIS runs of
        :meth:`score_samples`.
    dynamic_binarization : bool, default=False
        Train (jointly, and the bottom pretraining RBM) on a new binary draw
        of each minibatch every time it is used: each value x becomes 1 with
        probability x, so grey-level data such as MNIST is seen as a fresh
        binarization every epoch, as in Salakhutdinov & Hinton's code. Off:
        the values serve as probabilities, as in
        :class:`~skebm.BernoulliRBM`. Refused with Gaussian visible units.
    centering : bool, default=False
        Centered joint training (Montavon & Mueller 2012; Melchior, Fischer &
        Wiskott 2016): every layer l has an offset mu^l (a moving average of
        the data for the visible layer, of the mean-field posterior for the
        hidden layers, started at the first minibatch's means) that is
        subtracted from the states inside the statistics, which makes the
        gradient better conditioned. The model is the same and is still
        stored in standard form; only the direction of the steps changes.
        Pretraining is not affected.
    centering_rate : float in (0, 1], default=0.01
        Rate of the offsets' moving averages (per minibatch).
    sparsity_target : float or sequence of float in (0, 1), default=0.1
        Target mean activation of each hidden layer (one value for all, or
        one per hidden layer) when ``sparsity_cost`` > 0.
    sparsity_cost : float or sequence of float, default=0.0
        Strength of the sparsity penalty of joint training (Lee, Ekanadham &
        Ng 2008), as in :class:`~skebm.BernoulliRBM`, one value for all
        hidden layers or one per layer (0 switches a layer's penalty off):
        after every update the biases of hidden layer l move by
        ``learning_rate * cost_l * (target_l - q_l)``, q_l a moving average
        (0.9) of the mean-field posterior's mean. It revives units that
        pretraining switched off for every input, which get no gradient
        otherwise.
    max_norm : float, default=None
        If set, after every joint-training update each hidden unit's incoming
        weight vector (a row of W^l) is rescaled to L2 norm at most
        ``max_norm`` (Srebro & Shraibman 2005; Hinton et al. 2012), which
        keeps single units from growing couplings large enough to make the
        posterior strongly multimodal. None: no constraint.
    average : bool or int, default=False
        Iterate averaging, as in :class:`~skebm.BernoulliRBM`: the fitted
        ``coefs_`` and ``intercepts_`` are the running mean of the
        parameters after every joint-training update, while training itself
        (the chains, momentum, the next ``partial_fit``) continues from the
        last iterate. True averages from the first joint update; an int
        starts once joint training has seen that many samples. Pretraining
        is not averaged. At a small constant rate the iterates wander around
        an optimum and their mean sits nearer to it (784-500-1000 on MNIST:
        the mean of the iterates at the ends of 80 epochs at rate 1e-4
        scores 0.75 nats above the last of them, ``benchmarks/RESULTS.md``).
        Costs three passes over the parameters per update.
    average_from_epoch : int, default=None
        Iterate averaging over epochs instead: the fitted ``coefs_`` and
        ``intercepts_`` are the mean of the parameters at the ends of joint
        epochs ``average_from_epoch``, ``average_from_epoch + 1``, ... (the
        -87.24 nats recipe averages epochs 256-290), while training continues
        from the last iterate. Not combined with ``average``.
    init : BernoulliRBM or DBM, default=None
        Start joint training from another model instead of pretraining: a
        :class:`~skebm.BernoulliRBM` gives the bottom layer and the visible
        biases (the upper layers start as with ``pretrain=False``), a DBM of
        the same layer sizes all parameters. A fitted model is used as it is
        (it is not changed); an unfitted one is first fitted to ``X`` (as
        ``clone`` leaves it, e.g. in a grid search). The fitted one is
        ``init_``. With Gaussian visible units: a
        :class:`~skebm.GaussianBernoulliRBM` (which also gives the
        variances) or a Gaussian DBM.
    warm_start : bool, default=False
        When True, ``fit`` on a fitted model continues joint training for
        ``n_iter`` more epochs from exactly where it stopped (parameters,
        chains, momentum, offsets, sparsity averages, iterate averages, the
        schedule's epoch and update counts, the random stream): a fit of
        ``a`` epochs and a warm fit of ``b`` more give bit for bit one fit of
        ``a + b``, also across a pickle round-trip (not for the "linear"
        schedule, which decays towards the end of each fit). A larger
        ``n_chains`` than the model has adds chains copied from the old ones
        and run apart for 200 sweeps; a smaller one keeps the first chains.

    Attributes
    ----------
    coefs_ : list of ndarray
        ``coefs_[l - 1]`` is W^l of shape (n_l, n_{l-1}), n_0 = n_features.
    intercepts_ : list of ndarray
        Biases b^0 (visible, shape (n_features,)), b^1, ..., b^L. With
        Gaussian visible units b^0 are the means of p(v | h^1 = 0).
    variances_ : ndarray of shape (n_features,)
        Gaussian visible units only: the variances s of p(v | h^1).
    variance_floor_, variance_ceiling_ : ndarray of shape (n_features,)
        Gaussian visible units only: the bounds of learned variances.
    particles_ : list of ndarray
        States of the persistent chains, one array (n_chains, n_l) per layer,
        visible first. ``partial_fit`` continues them.
    last_coefs_, last_intercepts_ : list of ndarray
        With iterate averaging, the last iterate (what training continues
        from) behind the averaged ``coefs_`` and ``intercepts_``.
    n_iter_ : int
        Joint epochs run by ``fit`` (over warm starts too).
    t_ : int
        Joint-training updates (minibatches) run, ``fit`` and ``partial_fit``.
    history_ : list of dict
        One entry per joint epoch of ``fit``: ``epoch``, ``t``,
        ``learning_rate``, ``momentum``, ``seconds``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
    log_partition_info_ : dict
        The last result of :meth:`log_partition` (reused by
        :meth:`score_samples` while the parameters are unchanged).

    Notes
    -----
    :meth:`score_samples` is the mean-field variational lower bound
    E_q[-E(v, h)] + H(q) - log Z <= log p(v). Its cost is one mean-field
    solve per row (O(mean_field_max_iter * sum_l n_l n_{l-1}) per row) plus
    log Z, computed once per parameter setting and cached: exact
    enumeration costs 2**k evaluations (k = units of the smaller parity
    class), AIS ``n_runs * n_betas`` Gibbs sweeps (1.45 million with the
    defaults: about three minutes for 784-500-1000 on one core). To choose
    the AIS settings, call :meth:`log_partition` first: :meth:`score_samples`
    reuses its result.

    :meth:`free_energy` and :meth:`log_likelihood` are exact when the smaller
    parity class of *hidden* layers has at most 16 units (always with one
    hidden layer); otherwise they use the mean-field bound (the free energy
    is then an upper bound and the log-likelihood a lower bound).

    Inputs in [0, 1] that are not binary are treated as probabilities
    (mean-field visible units), as :class:`~skebm.BernoulliRBM` does: the
    energy terms are linear in v, so every formula applies unchanged.

    With Gaussian visible units, exact log Z enumerates the odd layers
    (``2**(n_1 + n_3 + ...)`` states, "auto" up to 24 units) and exact free
    energies the smaller class of hidden layers given v, as for binary
    units. Joint training works in u = v / s, in which the energy is the
    binary one plus the fixed-variance term sum_i v_i^2 / (2 s_i), so the
    W^1, b^0 statistics (E[h^1 (v / s)^T], E[(v - b) / s]) and centering
    are the binary ones in u; the variances take their own step.

    AIS anneals the couplings from an independent-unit base model
    (visible biases from the data's base rates, the model's own hidden
    biases), with the odd layers summed out analytically
    (:class:`DBMAnnealingPath`); it tends to underestimate log Z, so the bound
    it gives is slightly optimistic, as in the paper.

    References
    ----------
    Salakhutdinov, R. and Hinton, G. (2009). Deep Boltzmann machines.
    AISTATS.

    Salakhutdinov, R. and Hinton, G. (2012). An efficient learning procedure
    for deep Boltzmann machines. Neural Computation 24, 1967-2006.

    Salakhutdinov, R. and Murray, I. (2008). On the quantitative analysis of
    deep belief networks. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skebm._dbm import DBM
    >>> X = np.array([[0, 0, 0, 1], [0, 1, 1, 1], [1, 0, 1, 0], [1, 1, 1, 0]])
    >>> model = DBM((3, 2), n_iter=2, pretrain_n_iter=2, random_state=0)
    >>> model.fit(X).transform(X).shape
    (4, 2)
    >>> bool(np.all(model.score_samples(X) <= model.log_likelihood(X) + 1e-9))
    True

    Real-valued data, standardized:

    >>> Xr = np.random.default_rng(0).normal(size=(50, 3))
    >>> gauss = DBM((3, 2), visible_units="gaussian", n_iter=2, random_state=0)
    >>> gauss.fit(Xr).variances_.shape
    (3,)
    >>> bool(np.isfinite(gauss.score(Xr)))
    True
    """

    _fitted_attributes = ("coefs_", "intercepts_")

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "visible_units": [StrOptions({"bernoulli", "gaussian"})],
        "variance": [StrOptions({"learned", "fixed"})],
        "min_variance": [Interval(Real, 0, 1, closed="right")],
        "learning_rate": [LEARNING_RATE],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "n_chains": [Interval(Integral, 1, None, closed="left"), None],
        "n_gibbs_steps": [Interval(Integral, 1, None, closed="left")],
        "mean_field_max_iter": [Interval(Integral, 0, None, closed="left")],
        "mean_field_tol": [Interval(Real, 0, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "learning_rate_schedule": [
            StrOptions({"constant", "linear", "invscaling", "exponential"})
        ],
        "learning_rate_decay": [Interval(Real, 1, None, closed="left")],
        "learning_rate_floor": [Interval(Real, 0, None, closed="left")],
        "final_momentum": [Interval(Real, 0, 1, closed="left"), None],
        "momentum_switch_epoch": [Interval(Integral, 0, None, closed="left")],
        "pretrain": ["boolean"],
        "pretrain_n_iter": [Interval(Integral, 0, None, closed="left")],
        "pretrain_learning_rate": [LEARNING_RATE],
        "pretrain_method": [StrOptions({"cd", "pcd"})],
        "pretrain_n_gibbs_steps": [Interval(Integral, 1, None, closed="left")],
        "transform_layers": [StrOptions({"top", "all"})],
        "log_partition_params": [dict, None],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
        "random_state": ["random_state", np.random.Generator],
        "dynamic_binarization": ["boolean"],
        "centering": ["boolean"],
        "centering_rate": [Interval(Real, 0, 1, closed="right")],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither"), "array-like"],
        "sparsity_cost": [Interval(Real, 0, None, closed="left"), "array-like"],
        "max_norm": [Interval(Real, 0, None, closed="neither"), None],
        "average": [Interval(Integral, 0, None, closed="neither"), "boolean"],
        "average_from_epoch": [Interval(Integral, 1, None, closed="left"), None],
        "init": [None, HasMethods(["fit"])],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(500, 1000),
        *,
        visible_units="bernoulli",
        variance="learned",
        min_variance=0.01,
        learning_rate=0.002,
        batch_size=100,
        n_iter=10,
        n_chains=None,
        n_gibbs_steps=5,
        mean_field_max_iter=10,
        mean_field_tol=1e-5,
        momentum=0.5,
        weight_decay=0.0,
        learning_rate_schedule="constant",
        pretrain=True,
        pretrain_n_iter=10,
        pretrain_learning_rate=0.05,
        pretrain_method="cd",
        pretrain_n_gibbs_steps=1,
        transform_layers="top",
        log_partition_params=None,
        n_jobs=None,
        verbose=0,
        random_state=None,
        dynamic_binarization=False,
        centering=False,
        centering_rate=0.01,
        sparsity_target=0.1,
        sparsity_cost=0.0,
        max_norm=None,
        average=False,
        learning_rate_decay=1.000015,
        learning_rate_floor=0.0,
        final_momentum=None,
        momentum_switch_epoch=5,
        average_from_epoch=None,
        init=None,
        warm_start=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.visible_units = visible_units
        self.variance = variance
        self.min_variance = min_variance
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.n_chains = n_chains
        self.n_gibbs_steps = n_gibbs_steps
        self.mean_field_max_iter = mean_field_max_iter
        self.mean_field_tol = mean_field_tol
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.learning_rate_schedule = learning_rate_schedule
        self.pretrain = pretrain
        self.pretrain_n_iter = pretrain_n_iter
        self.pretrain_learning_rate = pretrain_learning_rate
        self.pretrain_method = pretrain_method
        self.pretrain_n_gibbs_steps = pretrain_n_gibbs_steps
        self.transform_layers = transform_layers
        self.log_partition_params = log_partition_params
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.random_state = random_state
        self.dynamic_binarization = dynamic_binarization
        self.centering = centering
        self.centering_rate = centering_rate
        self.sparsity_target = sparsity_target
        self.sparsity_cost = sparsity_cost
        self.max_norm = max_norm
        self.average = average
        self.learning_rate_decay = learning_rate_decay
        self.learning_rate_floor = learning_rate_floor
        self.final_momentum = final_momentum
        self.momentum_switch_epoch = momentum_switch_epoch
        self.average_from_epoch = average_from_epoch
        self.init = init
        self.warm_start = warm_start

    # ------------------------------------------------------------ helpers
    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, Integral):
            sizes = [sizes]
        sizes = list(sizes)
        if not sizes or any(
            not isinstance(s, Integral) or isinstance(s, bool) or s < 1 for s in sizes
        ):
            raise ValueError(
                "hidden_layer_sizes must be a positive integer or a non-empty "
                f"sequence of positive integers, got {self.hidden_layer_sizes!r}."
            )
        return [int(s) for s in sizes]

    def _sparsity_settings(self, n_hidden):
        """(target, cost) of every hidden layer, checked."""
        out = []
        for name, in_range, words in (
            ("sparsity_target", lambda v: (v > 0) & (v < 1), "a float in (0, 1)"),
            ("sparsity_cost", lambda v: (v >= 0) & np.isfinite(v), "a float >= 0"),
        ):
            value = getattr(self, name)
            v = np.asarray(value, dtype=np.float64)
            if v.ndim > 1 or v.size not in (1, n_hidden) or not in_range(v).all():
                raise ValueError(
                    f"{name} must be {words} or one such value per hidden "
                    f"layer ({n_hidden}), got {value!r}."
                )
            out.append(np.broadcast_to(v.ravel(), (n_hidden,)).tolist())
        return list(zip(*out, strict=True))

    @property
    def _n_features_out(self):
        sizes = [W.shape[0] for W in self.coefs_]
        return sizes[-1] if self.transform_layers == "top" else sum(sizes)

    def _gaussian(self):
        # a fitted model keeps the unit type it was fitted with
        if hasattr(self, "coefs_"):
            return hasattr(self, "variances_")
        return self.visible_units == "gaussian"

    def _var(self):
        """Variances of the Gaussian visible units in the weights' dtype, or
        None for binary units."""
        var = getattr(self, "variances_", None) if hasattr(self, "coefs_") else None
        return None if var is None else var.astype(self.coefs_[0].dtype, copy=False)

    def _inv_var(self):
        var = self._var()
        return None if var is None else 1.0 / var

    def _validate_train_X(self, X, reset, min_samples=None):
        # a new fit follows the parameter, a continued one the fitted model
        gaussian = self.visible_units == "gaussian" if reset else self._gaussian()
        if not gaussian:
            return validate_unit_interval_X(
                self, X, reset=reset, min_samples=min_samples
            )
        if self.dynamic_binarization:
            raise ValueError(
                "dynamic_binarization draws binary data and needs "
                'visible_units="bernoulli"; Gaussian visible units model the '
                "real values themselves."
            )
        if sp.issparse(X):
            self._check_visible_values(X, "X")
        if min_samples is None:
            min_samples = 2 if reset else 1
        return validate_data(
            self,
            X,
            dtype=(np.float64, np.float32),
            reset=reset,
            ensure_min_samples=min_samples,
        )

    def _check_visible_values(self, X, name):
        if not self._gaussian():
            check_unit_interval(X, name, self)
        elif sp.issparse(X):
            # the Gaussian energy is not sparse in v ((v - b)^2 terms)
            raise TypeError(
                f"{type(self).__name__} with Gaussian visible units does not "
                f"accept sparse {name}: convert it with .toarray() (the "
                "quadratic energy terms make every entry count)."
            )
        # any finite real value (validate_data refused NaN and inf)

    def _visible_terms(self, X):
        """(b^0 . v, or -sum_i (v_i - b_i)^2 / (2 s_i) for Gaussian visibles;
        the input of v to h^1) for validated ``X``: the two terms through
        which the visible layer enters every bound and free energy."""
        Ws, bs = self.coefs_, self.intercepts_
        inv_var = self._inv_var()
        a1 = dbm_visible_input(X, Ws[0], inv_var)
        if inv_var is None:
            bv = np.asarray(safe_sparse_dot(X, bs[0])).ravel()
        else:
            bv = -_quadratic(X, bs[0], inv_var)
        return bv, a1

    def _mean_field(self, X):
        """(visible terms, input to h^1, mean-field means) for validated ``X``."""
        Ws, bs = self.coefs_, self.intercepts_
        bv, a1 = self._visible_terms(X)
        mus, _ = dbm_mean_field(
            a1, Ws, bs, max_iter=self.mean_field_max_iter, tol=self.mean_field_tol
        )
        return bv, a1, mus

    # ---------------------------------------------------------- training
    def _initialize_random(self, X, rng, sizes):
        n, D = X.shape
        dtype = X.dtype
        dims = [D] + sizes
        self.coefs_ = [
            np.ascontiguousarray(rng.normal(0, 0.01, (dims[k], dims[k - 1])), dtype)
            for k in range(1, len(dims))
        ]
        self.intercepts_ = [np.zeros(d, dtype=dtype) for d in dims]
        if self.visible_units == "gaussian":
            # the data's means and variances (constant features handled as
            # GaussianBernoulliRBM handles them)
            mean, var = _column_moments(X)
            self.intercepts_[0][...] = mean
            self.variances_ = variance_scale(var, dtype).astype(dtype)
            return
        p = (np.asarray(X.sum(axis=0), dtype=np.float64).ravel() + 1.0) / (n + 2.0)
        self.intercepts_[0][...] = np.log(p) - np.log1p(-p)

    def _pretrain(self, X, rng, sizes):
        L = len(sizes)
        common = {
            "batch_size": self.batch_size,
            "n_iter": self.pretrain_n_iter,
            "learning_rate": self.pretrain_learning_rate,
            "method": self.pretrain_method,
            "n_gibbs_steps": self.pretrain_n_gibbs_steps,
            "momentum": self.momentum,
            "weight_decay": self.weight_decay,
            "visible_bias_init": "data",
            "random_state": rng,
        }
        timer = Timer()
        rbms = []
        data = X
        gaussian = self.visible_units == "gaussian"
        for k, size in enumerate(sizes, start=1):
            kw = dict(common)
            if k == 1 and gaussian:
                # a plain GRBM, not doubled: see the docstring of ``pretrain``
                cls = GaussianBernoulliRBM
                del kw["visible_bias_init"]  # its means start at the data mean
                kw.update(variance=self.variance, min_variance=self.min_variance)
            else:
                if L == 1:
                    cls = BernoulliRBM
                elif k == 1:
                    cls = _BottomRBM
                elif k == L:
                    cls = _TopRBM
                else:
                    cls = BernoulliRBM
                # only the data itself is binarized anew; upper layers see
                # probabilities
                kw["dynamic_binarization"] = self.dynamic_binarization and k == 1
            rbm = cls(n_components=size, **kw).fit(data)
            rbms.append(rbm)
            if k < L:
                data = rbm.transform(data)
            if self.verbose:
                print(
                    f"[{type(self).__name__}] Pretrained layer {k} "
                    f"({type(rbm).__name__.lstrip('_')}), time = {timer.lap():.2f}s",
                    flush=True,
                )
        Ws, bs = [], [rbms[0].intercept_visible_.copy()]
        for k, rbm in enumerate(rbms, start=1):
            W = rbm.components_.copy()
            if 1 < k < L:
                W *= W.dtype.type(0.5)  # doubled both ways in pretraining
            Ws.append(W)
            c = rbm.intercept_hidden_.copy()
            if k < L:
                c += rbms[k].intercept_visible_
                c *= c.dtype.type(0.5)
            bs.append(c)
        self.coefs_, self.intercepts_ = Ws, bs
        if gaussian:
            self.variances_ = rbms[0].variances_.astype(X.dtype)

    def _initialize_chains(self, X, rng):
        m = self.batch_size if self.n_chains is None else self.n_chains
        dtype = self.coefs_[0].dtype
        rows = (
            rng.integers(0, X.shape[0], m)
            if hasattr(rng, "integers")
            else (rng.randint(0, X.shape[0], m))
        )
        p = X[rows]
        p = np.asarray(p.toarray() if sp.issparse(p) else p, dtype=dtype)
        inv_var = self._inv_var()
        if inv_var is None:
            v = sample_bernoulli_(np.empty_like(p), p, rng)
        else:
            v = p.copy()  # real-valued data rows are states already
        mus, _ = dbm_mean_field(
            dbm_visible_input(v, self.coefs_[0], inv_var),
            self.coefs_,
            self.intercepts_,
            max_iter=self.mean_field_max_iter,
            tol=self.mean_field_tol,
        )
        self.particles_ = [v] + [sample_bernoulli_(mu, mu, rng) for mu in mus]
        self._velocity = None
        self._offsets = None
        self._sparsity_q = None
        self._average = IterateAverage()
        self.__dict__.pop("_average_state", None)  # before session 38
        self.__dict__.pop("_n_seen", None)
        self._epoch_sums = None  # [sums (float64), count] of average_from_epoch
        self.__dict__.pop("_ws", None)  # buffers shaped by the old layers
        self.__dict__.pop("_live_params", None)

    def _track_data(self, X, reset):
        if reset:
            self._data_sum = np.zeros(X.shape[1])
            self._data_count = 0
        self._data_sum += np.asarray(X.sum(axis=0), dtype=np.float64).ravel()
        self._data_count += X.shape[0]
        if self._gaussian():
            # second moments for the Gaussian base model of AIS
            if reset or not hasattr(self, "_data_sq"):
                self._data_sq = np.zeros(X.shape[1])
            X64 = np.asarray(X, dtype=np.float64)
            self._data_sq += np.einsum("ij,ij->j", X64, X64)

    def _update(self, v, rng, lr, momentum=None):
        """One joint-training step on minibatch ``v`` (dense or CSR)."""
        self.t_ = getattr(self, "t_", 0) + 1
        momentum = self.momentum if momentum is None else momentum
        if self.dynamic_binarization:
            v = bernoulli_draw(v, rng)
        Ws, bs = self.coefs_, self.intercepts_
        dtype = Ws[0].dtype
        L = len(Ws)
        B = v.shape[0]
        var = self._var()
        inv_var = None if var is None else 1.0 / var
        # Positive phase: mean-field posterior of the minibatch.
        a1 = dbm_visible_input(v, Ws[0], inv_var)
        mus, _ = dbm_mean_field(
            a1, Ws, bs, max_iter=self.mean_field_max_iter, tol=self.mean_field_tol
        )
        pos = [v] + mus
        # Negative phase: persistent chains; odd layers enter the statistics
        # through their conditional probabilities (Rao-Blackwellised).
        chains = self.particles_
        for _ in range(self.n_gibbs_steps):
            dbm_gibbs_sweep_(chains, Ws, bs, rng, fast=True, var=var)
        neg = list(chains)
        for k in range(1, L + 1, 2):
            neg[k] = sigmoid_(dbm_activation(chains, Ws, bs, k, inv_var))
        if inv_var is not None:
            # In u = v / s the Gaussian energy is -b.u - u.W^1T h^1 plus
            # terms without W and b, so the statistics of W^1 and b
            # (E[h^1 (v / s)^T], E[(v - b) / s]; b cancels between the
            # phases) and the centering algebra are the binary ones in u.
            pos[0] = v * inv_var
            neg[0] = chains[0] * inv_var
        m = chains[0].shape[0]
        s = dtype.type(B / m)
        sparse = sp.issparse(v)
        gWs = []
        for k in range(1, L + 1):
            lo, hi = pos[k - 1], pos[k]
            if k == 1 and sparse:
                gW = np.ascontiguousarray(
                    np.asarray(safe_sparse_dot(lo.T, hi, dense_output=True)).T,
                    dtype=dtype,
                )
                gW -= s * (neg[k].T @ neg[k - 1])
            else:
                # Both terms in one product: [hi; -s neg_hi]^T [lo; neg_lo].
                hs = np.concatenate([hi, neg[k] * -s])
                gW = hs.T @ np.concatenate([lo, neg[k - 1]])
            gWs.append(gW)
        pos_sums = [np.asarray(p.sum(axis=0), dtype=dtype).ravel() for p in pos]
        gbs = [ps - s * n.sum(axis=0) for ps, n in zip(pos_sums, neg, strict=True)]
        if self.centering:
            # the positive phase's means feed the offsets (once per update)
            means = [ps / dtype.type(B) for ps in pos_sums]
            offsets = self._centering_offsets(means)
            center_layer_statistics_(gWs, gbs, offsets)
        grads = gWs + gbs
        params = list(Ws) + list(bs)
        z = None
        if var is not None:
            # z = log s is stepped with the others (and has a velocity) even
            # when fixed, so that switching ``variance`` keeps the state's shape
            z = np.log(var)
            if self.variance == "learned":
                gz = _log_variance_statistic(v, mus[0], Ws[0], bs[0], inv_var)
                gz -= _log_variance_statistic(chains[0], neg[1], Ws[0], bs[0], inv_var)
                gz *= dtype.type(B)
            else:
                gz = np.zeros_like(z)
            grads.append(gz)
            params.append(z)
        if momentum and self._velocity is None:
            self._velocity = [np.zeros_like(p) for p in params]
        # sums over the batch: rate and decay scaled by B; the settings are
        # rounded to the weights' dtype once, so a float64 z steps alike
        sgd_step_(
            params,
            grads,
            float(dtype.type(lr / B)),
            velocities=self._velocity if momentum else None,
            momentum=float(dtype.type(momentum)),
            weight_decay=float(dtype.type(self.weight_decay * B)),
            decayed=[k < len(Ws) for k in range(len(params))],
        )
        if z is not None and self.variance == "learned":
            np.clip(z, *self._log_variance_bounds(), out=z)
            self.variances_[...] = np.exp(z)

        if self.centering:
            self._move_offsets(offsets, means)
        if np.any(np.asarray(self.sparsity_cost)):
            self._sparsity_step(pos_sums[1:], B, lr)
        if self.max_norm is not None:
            for W in Ws:
                clip_row_norms_(W, self.max_norm)
        if self.average is not False:
            self._accumulate_average(B)

    def _trained_params(self):
        """Every trained array: the weights, the biases, the variances of
        Gaussian visible units."""
        params = [*self.coefs_, *self.intercepts_]
        if self._gaussian():
            params.append(self.variances_)
        return params

    def _log_variance_bounds(self):
        """log of the floor and ceiling of learned variances."""
        return np.log(self.variance_floor_), np.log(self.variance_ceiling_)

    def _set_variance_bounds(self, X):
        """``variance_floor_`` and ``variance_ceiling_`` from the data, as
        GaussianBernoulliRBM sets them."""
        scale = variance_scale(_column_moments(X)[1], X.dtype)
        self.variance_floor_ = (self.min_variance * scale).astype(X.dtype)
        self.variance_ceiling_ = (scale / self.min_variance).astype(X.dtype)

    def _iterate_average(self):
        """The running mean of ``average`` (an IterateAverage; a model
        pickled before session 38 kept ``[means, count]`` and ``_n_seen``)."""
        avg = self.__dict__.get("_average")
        if avg is None:
            avg = self._average = IterateAverage.from_legacy_state(
                self.__dict__.pop("_average_state", None),
                self.__dict__.pop("_n_seen", 0),
            )
        return avg

    def _accumulate_average(self, n_samples):
        """Fold the current iterate into the running mean of the parameters."""
        avg = self._iterate_average()
        # read at every update, so that set_params(average=...) between fits
        # takes effect at once
        avg.start = 0 if self.average is True else int(self.average)
        if "_ws" not in self.__dict__:  # work buffers, left out of pickles
            self._ws = GradientWorkspace()
        avg.update(
            self._trained_params(),
            n_samples,
            scratch=lambda i, shape: self._ws.get(
                f"average_diff_{i}", shape, np.float64
            ),
        )

    def _shown_means(self):
        """The float64 means the fitted parameters show (per-update running
        means or epoch-end sums over their count), or None."""
        means = self._iterate_average().mean
        if means is not None:
            return means
        sums = getattr(self, "_epoch_sums", None)
        return None if sums is None else [x / sums[1] for x in sums[0]]

    def _add_epoch_average(self, epoch):
        """Add the end-of-epoch parameters to the sums of ``average_from_epoch``."""
        if self.average_from_epoch is None or epoch < self.average_from_epoch:
            return
        params = self._trained_params()
        sums = getattr(self, "_epoch_sums", None)
        if sums is None:
            sums = self._epoch_sums = [
                [np.zeros(p.shape, np.float64) for p in params],
                0,
            ]
        for x, p in zip(sums[0], params, strict=True):
            x += p
        sums[1] += 1

    def _publish_average(self):
        """Show the averaged parameters; keep the last iterate for training."""
        if self.average is False:
            # switched off since (set_params): the last iterate is the model
            avg = self._iterate_average()
            avg.mean, avg.count = None, 0
        if self.average_from_epoch is None:
            self._epoch_sums = None
        means = self._shown_means()
        if means is not None:
            self._live_params = publish_means_(self._trained_params(), means)

    def _last_params(self):
        check_is_fitted(self)
        live = getattr(self, "_live_params", None)
        return self._trained_params() if live is None else live

    @property
    def last_coefs_(self):
        return self._last_params()[: len(self.coefs_)]

    @property
    def last_intercepts_(self):
        L = len(self.coefs_)
        return self._last_params()[L : 2 * L + 1]

    def _restore_live(self):
        """Before more training: back to the last iterate behind the average,
        unless the user has set other parameters since (then the average
        starts afresh from them)."""
        live = self.__dict__.pop("_live_params", None)
        if live is None:
            return
        # what the last fit showed, whatever the averaging settings are now
        if not resume_from_live_(self._trained_params(), live, self._shown_means()):
            self._average = IterateAverage()
            self._epoch_sums = None

    def _sparsity_step(self, hidden_sums, B, lr):
        """Move the hidden biases toward the sparsity targets (see docstring)."""
        bs = self.intercepts_
        settings = self._sparsity_settings(len(hidden_sums))
        q = getattr(self, "_sparsity_q", None) or [None] * len(hidden_sums)
        for k, (h, (t, c)) in enumerate(zip(hidden_sums, settings, strict=True)):
            if c:
                mean = h / bs[0].dtype.type(B)
                q[k] = sparsity_step_(bs[k + 1], q[k], mean, t, c, lr)
        self._sparsity_q = q

    def _centering_offsets(self, means):
        """The offsets mu^0..mu^L, started at the first minibatch's means."""
        offsets = getattr(self, "_offsets", None)
        if offsets is None:
            offsets = self._offsets = [m.copy() for m in means]
        return offsets

    def _move_offsets(self, offsets, means):
        nu = self.centering_rate
        for mu, m in zip(offsets, means, strict=True):
            mu *= 1 - nu
            mu += nu * m

    def _joint_rate(self, horizon):
        """Learning rate of the next joint epoch (after ``t_`` updates)."""
        if self.learning_rate_schedule == "exponential":
            return decayed_rate(
                self.learning_rate,
                self.learning_rate_decay,
                self.t_,
                self.learning_rate_floor,
            )
        return next_epoch_rate(self, horizon)

    def _joint_momentum(self, epoch):
        return scheduled_momentum(
            self.momentum, self.final_momentum, self.momentum_switch_epoch, epoch
        )

    def _work(self, X):
        """Multiply-adds of the largest product of a step (thread policy)."""
        return min(X.shape[0], self.batch_size) * max(W.size for W in self.coefs_)

    def _epoch(self, X, lr):
        """One pass at a constant rate (``partial_fit``)."""
        with blas_threads_for(self._work(X)):
            for s in minibatch_slices(X.shape[0], self.batch_size):
                self._update(X[s], self.random_state_, lr)

    def _check_averaging(self):
        if self.average is not False and self.average_from_epoch is not None:
            raise ValueError(
                "average and average_from_epoch exclude each other: the first "
                "averages after every update, the second at the ends of epochs."
            )

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Pretrain (optionally) and jointly train the DBM on ``X``.

        With ``warm_start=True`` and a fitted model, joint training continues
        for ``n_iter`` more epochs instead (no pretraining).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, values in [0, 1] (treated as probabilities), or
            any finite real values (dense) with ``visible_units="gaussian"``.
        y : Ignored

        Returns
        -------
        self : DBM
            The fitted model.
        """
        warm = warm_started(self, "coefs_")
        if warm and (self.visible_units == "gaussian") != self._gaussian():
            raise ValueError(
                "warm_start cannot change visible_units of a fitted DBM; set "
                "warm_start=False to fit a new model."
            )
        if not warm:
            # a new fit: nothing of an earlier one (e.g. its unit type) counts
            for name in ("coefs_", "variances_"):
                self.__dict__.pop(name, None)
        X = self._validate_train_X(X, reset=not warm)
        self._check_averaging()
        rng = training_generator(self, warm)
        self._track_data(X, reset=True)
        if warm:
            X = X.astype(self.coefs_[0].dtype, copy=False)
            self._sparsity_settings(len(self.coefs_))
            self._restore_live()
            self._resize_chains()
        else:
            sizes = self._hidden_sizes()
            self._sparsity_settings(len(sizes))
            self._log_partition_seed = None
            if self.visible_units == "gaussian":
                self._set_variance_bounds(X)
            if self.init is not None:
                self._initialize_from(self.init, X, rng, sizes)
            elif self.pretrain:
                self._pretrain(X, rng, sizes)
            else:
                self._initialize_random(X, rng, sizes)
            self._initialize_chains(X, rng)
        start_progress(self, warm)

        def begin_epoch(horizon):
            momentum = self._joint_momentum(self.n_iter_ + 1)
            return {"lr": self._joint_rate(horizon), "momentum": momentum}

        def end_epoch(settings, seconds):
            self._add_epoch_average(self.n_iter_ + 1)
            return {"momentum": float(settings["momentum"])}, False

        run_epochs(
            self,
            X,
            self.n_iter,
            lambda v, lr, momentum: self._update(v, self.random_state_, lr, momentum),
            work=self._work(X),
            begin_epoch=begin_epoch,
            end_epoch=end_epoch,
        )
        self._publish_average()
        return self

    def _initialize_from(self, init, X, rng, sizes):
        """Parameters from a fitted (or here fitted) RBM or DBM; see ``init``."""
        gaussian = self.visible_units == "gaussian"
        rbm_cls = GaussianBernoulliRBM if gaussian else BernoulliRBM
        if not isinstance(init, (rbm_cls, DBM)):
            raise ValueError(
                f"init must be a {rbm_cls.__name__} or a DBM (visible_units="
                f"{self.visible_units!r}), got {type(init).__name__}."
            )
        is_rbm = isinstance(init, rbm_cls)
        if not hasattr(init, "components_" if is_rbm else "coefs_"):
            init = clone(init).fit(X)
        if not is_rbm and init._gaussian() != gaussian:
            raise ValueError(
                f"init is a DBM with other visible units than this one's "
                f"({self.visible_units!r})."
            )
        self.init_ = init
        self._initialize_random(X, rng, sizes)
        dtype = self.coefs_[0].dtype
        if is_rbm:
            Ws = [init.components_]
            bs = [init.intercept_visible_, init.intercept_hidden_]
        else:
            Ws, bs = init.coefs_, init.intercepts_
        if gaussian:
            self.variances_ = np.asarray(init.variances_, dtype=dtype).copy()
        want = [W.shape for W in (self.coefs_[:1] if is_rbm else self.coefs_)]
        got = [W.shape for W in Ws]
        if want != got:
            raise ValueError(
                f"init has weight shapes {got}; this DBM's layers "
                f"({X.shape[1]}-{'-'.join(map(str, sizes))}) need {want}."
            )
        for W, src in zip(self.coefs_, Ws, strict=False):
            W[...] = np.asarray(src, dtype=dtype)
        for b, src in zip(self.intercepts_, bs, strict=False):
            b[...] = np.asarray(src, dtype=dtype)

    def _resize_chains(self):
        """Give a warm-started model ``n_chains`` persistent chains."""
        m = self.batch_size if self.n_chains is None else self.n_chains
        old = self.particles_
        have = old[0].shape[0]
        if m == have:
            return
        if m < have:
            self.particles_ = [np.ascontiguousarray(x[:m]) for x in old]
            return
        # copies of the old chains (already near the model) run apart
        rows = np.arange(m) % have
        chains = [np.ascontiguousarray(x[rows]) for x in old]
        for _ in range(_GROWN_CHAIN_SWEEPS):
            dbm_gibbs_sweep_(
                chains,
                self.coefs_,
                self.intercepts_,
                self.random_state_,
                fast=True,
                var=self._var(),
            )
        self.particles_ = chains

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Continue joint training with one pass over ``X`` in minibatches.

        On an unfitted model the parameters are first initialised as by
        ``fit`` with ``pretrain=False`` (pretraining needs the whole data
        set); the persistent chains continue across calls. The learning rate
        is the constant ``learning_rate``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, values in [0, 1] (any finite real values with
            ``visible_units="gaussian"``). A first call with Gaussian units
            takes the means, variances and variance bounds from ``X``.
        y : Ignored

        Returns
        -------
        self : DBM
            The fitted model.
        """
        first = not hasattr(self, "coefs_")
        X = self._validate_train_X(X, reset=first, min_samples=1)
        self._check_averaging()
        self._sparsity_settings(
            len(self._hidden_sizes()) if first else len(self.coefs_)
        )
        if not hasattr(self, "random_state_"):
            self.random_state_ = make_generator(self.random_state)
        if first:
            self._track_data(X, reset=True)
            if self.visible_units == "gaussian":
                self._set_variance_bounds(X)
            self._initialize_random(X, self.random_state_, self._hidden_sizes())
            self._initialize_chains(X, self.random_state_)
            reset_progress(self)
        else:
            self._track_data(X, reset=False)
            self._restore_live()
        self._epoch(X, self.learning_rate)
        self._publish_average()
        check_finite_state(self)
        return self

    def _print_progress(self, X, epoch, elapsed):
        rows = X[: min(X.shape[0], _VERBOSE_ROWS)]
        bv, a1, mus = self._mean_field(rows)
        bound = dbm_variational_bound(bv, a1, mus, self.coefs_, self.intercepts_)
        print_epoch(
            self, epoch, "mean-field bound + log Z", float(bound.mean()), elapsed
        )

    # ------------------------------------------------------- inference
    def transform(self, X):
        """Mean-field posterior means of the top (or every) hidden layer.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        h : ndarray of shape (n_samples, n_L), or (n_samples, sum_l n_l)
            when ``transform_layers="all"`` (bottom layer first).
        """
        X = self._validate_eval_X(X)
        _, _, mus = self._mean_field(X)
        if self.transform_layers == "top":
            return mus[-1]
        return np.concatenate(mus, axis=1)

    def _score_log_partition_params(self):
        seed = getattr(self, "_log_partition_seed", None)
        if seed is None:
            # Fixed once per fitted model, so that repeated scores agree and
            # the result can be cached.
            seed = self._log_partition_seed = int(
                seed_sequence(self.random_state).spawn(1)[0].generate_state(1)[0]
            )
        params = {"method": "auto", "n_jobs": self.n_jobs, "random_state": seed}
        params.update(self.log_partition_params or {})
        if params["method"] == "auto":
            auto_exact = self._exact_size() <= EXACT_MAX_UNITS
            params["method"] = "exact" if auto_exact else "ais"
        return params

    def _log_partition_for_score(self):
        params = self._score_log_partition_params()
        cached = self._cached_log_partition(params["method"])
        if cached is not None:
            return cached["log_z"]
        return self.log_partition(**params)

    def score_samples(self, X):
        """Mean-field variational lower bound on log p(x) for each row, in nats.

        E_q[-E(x, h)] + H(q) - log Z with q the mean-field posterior. log Z is
        the last :meth:`log_partition` result while the parameters are
        unchanged and its method ("exact", "ais", ...) is the one
        ``log_partition_params`` asks for; otherwise it is computed with
        ``log_partition_params`` (and cached).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        bound : ndarray of shape (n_samples,)

        See Also
        --------
        importance_log_likelihood : a tighter estimate with the same log Z.
        """
        return self.variational_bound(X)

    def mean_field(self, X):
        """Mean-field posterior means of every hidden layer, bottom first.

        The fixed point of q(h) = prod_l prod_j Bernoulli(mu^l_j) that
        :meth:`transform` and :meth:`score_samples` use (at most
        ``mean_field_max_iter`` sweeps, to ``mean_field_tol``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        mus : list of ndarray, one (n_samples, n_l) per hidden layer
        """
        X = self._validate_eval_X(X)
        return self._mean_field(X)[2]

    def variational_bound(self, X, *, log_z=None):
        """Mean-field lower bound E_q[-E(x, h)] + H(q) - log Z, per row, in nats.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        log_z : float, default=None
            The log partition function to subtract (e.g. an estimate made
            elsewhere); None uses the one of :meth:`score_samples` (cached
            :meth:`log_partition`). ``log_z=0`` gives the bound without it.

        Returns
        -------
        bound : ndarray of shape (n_samples,)
        """
        X = self._validate_eval_X(X)
        bv, a1, mus = self._mean_field(X)
        bound = dbm_variational_bound(bv, a1, mus, self.coefs_, self.intercepts_)
        if log_z is None:
            log_z = self._log_partition_for_score()
        return bound - float(log_z)

    def importance_log_likelihood(
        self, X, *, n_samples=100, random_state=None, log_z=None, **log_partition_params
    ):
        """Importance-weighted estimate of log p(x) for each row, in nats.

        A tighter companion of :meth:`score_samples`: the odd hidden layers
        are drawn ``n_samples`` times from the mean-field posterior, the even
        ones are summed out exactly, and the log of the mean importance
        weight, minus log Z, is returned. In expectation it is a lower bound
        on log p(x) (given log Z), never below the mean-field bound of
        :meth:`score_samples`, and it converges to log p(x) as ``n_samples``
        grows. The mean-field bound ignores the posterior's correlations
        between layers; this estimate does not, so the difference measures
        how loose the bound is.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples_X, n_features)
        n_samples : int, default=100
            Importance samples per row (cost: that many evaluations of the
            even layers' free energy per row).
        random_state : int, RandomState instance, Generator or None, default=None
            Seeds the draws.
        log_z : float, default=None
            The log partition function to subtract (e.g. an estimate made
            elsewhere); None: as below.
        **log_partition_params
            Passed to :meth:`log_partition`. Without them, log Z is the one
            :meth:`score_samples` uses (cached), so the two are comparable.

        Returns
        -------
        log_p : ndarray of shape (n_samples_X,)
        """
        X = self._validate_eval_X(X)
        if (
            not isinstance(n_samples, Integral)
            or isinstance(n_samples, bool)
            or n_samples < 1
        ):
            raise ValueError(
                f"n_samples must be a positive integer, got {n_samples!r}."
            )
        rng = make_generator(random_state)
        bv, a1, mus = self._mean_field(X)
        log_f = dbm_importance_log_f(
            bv, a1, mus, self.coefs_, self.intercepts_, int(n_samples), rng
        )
        if log_z is not None:
            return log_f - float(log_z)
        if log_partition_params:
            log_z = self.log_partition(**log_partition_params)
        else:
            log_z = self._log_partition_for_score()
        return log_f - log_z

    def _free_energy_validated(self, X):
        Ws, bs = self.coefs_, self.intercepts_
        sizes = [b.size for b in bs]
        bv, a1 = self._visible_terms(X)
        if _hidden_enumeration(sizes)[1] <= EXACT_FREE_ENERGY_MAX_UNITS:
            return dbm_free_energy_exact(bv, a1, Ws, bs)
        mus, _ = dbm_mean_field(
            a1, Ws, bs, max_iter=self.mean_field_max_iter, tol=self.mean_field_tol
        )
        return -dbm_variational_bound(bv, a1, mus, Ws, bs)

    # ---------------------------------------- hooks for generation and log Z
    def _chain_model(self, cls=DBMChain):
        return cls(
            self.coefs_,
            self.intercepts_,
            mf_max_iter=self.mean_field_max_iter,
            mf_tol=self.mean_field_tol,
            var=self._var(),
        )

    def _exact_size(self):
        sizes = [b.size for b in self.intercepts_]
        if self._gaussian():
            return sum(sizes[1::2])  # v is integrated given the odd layers
        return min(_parity_units(sizes))

    def _log_partition_exact(self, n_jobs):
        return dbm_log_partition_exact(
            self.coefs_, self.intercepts_, var=self._var(), n_jobs=n_jobs
        )

    def _base_rate_biases(self):
        """Log-odds of the smoothed training-data mean (AIS base model)."""
        D = self.coefs_[0].shape[1]
        count = getattr(self, "_data_count", 0)
        total = getattr(self, "_data_sum", np.zeros(D))
        p = (total + 1.0) / (count + 2.0)
        return np.log(p) - np.log1p(-p)

    def _base_moments(self):
        """Mean and variance of the training data (Gaussian AIS base), the
        variance floored at 1 % of the model's so that the base is proper."""
        var = self._var().astype(np.float64)
        n = getattr(self, "_data_count", 0)
        if n == 0 or not hasattr(self, "_data_sq"):
            return self.intercepts_[0], var
        mean = self._data_sum / n
        data_var = np.maximum(self._data_sq / n - mean * mean, 0.0)
        return mean, np.maximum(data_var, 0.01 * var)

    def _annealing_path(self):
        if self._gaussian():
            return GaussianDBMAnnealingPath(
                self.coefs_, self.intercepts_, self._var(), *self._base_moments()
            )
        return DBMAnnealingPath(self.coefs_, self.intercepts_, self._base_rate_biases())

    def _compute_log_partition(
        self, method, n_betas, n_runs, init, n_burn, n_jobs, random_state
    ):
        if method != "reverse_ais":
            return super()._compute_log_partition(
                method, n_betas, n_runs, init, n_burn, n_jobs, random_state
            )
        # Reverse AIS starts from joint states of every even layer, which the
        # visible-only sampler of the base class cannot provide.
        seq = seed_sequence(random_state)
        model = self._chain_model(_EvenStateChain)
        if init is not None:
            init = self._validate_eval_X(init, name="init")
            init = init.toarray() if sp.issparse(init) else init
            init = np.asarray(init, dtype=model.dtype)
        x0 = run_chains(
            model,
            n_runs,
            n_burn,
            init=init,
            n_jobs=n_jobs,
            random_state=seq.spawn(1)[0],
        )
        path = self._annealing_path()
        log_w = run_ais(
            path,
            ais_betas(n_betas)[::-1],
            n_runs,
            init=x0,
            n_jobs=n_jobs,
            random_state=seq,
        )
        info = ais_summary(log_w, path.log_z0, reverse=True)
        info["log_w"] = log_w
        info["log_mean_w"] = logmeanexp(log_w)
        return info

    def _params_digest(self):
        if self._gaussian():
            return params_digest(*self.coefs_, *self.intercepts_, self.variances_)
        return params_digest(*self.coefs_, *self.intercepts_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self.visible_units != "gaussian"
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
