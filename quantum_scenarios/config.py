"""Configuration: one pydantic model per concern.

These models are the single source of truth for option names, defaults, bounds
and descriptions. The CLI reads them from YAML and ``--set key=value``; the
Prefect flow takes them as parameters, so the UI renders a form from the same
fields. Library functions never read configuration themselves: the task layer
unpacks a model into keyword arguments.

Every default lives here, with its reason in the description.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "SourceConfig",
    "ValidationConfig",
    "EncodingConfig",
    "CircuitConfig",
    "ExecutorConfig",
    "HardwareConfig",
    "MitigationConfig",
    "TrainingConfig",
    "ScenarioConfig",
    "StressConfig",
    "EvaluationConfig",
    "ModelConfig",
    "OutputConfig",
    "OperationsConfig",
    "PipelineConfig",
    "SweepConfig",
    "load_config",
    "apply_overrides",
    "describe_config",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SourceConfig(_Model):
    """Where market prices come from and how they become returns."""

    source: str = Field(
        "bundled",
        description="'bundled' (S&P 500, NASDAQ, WTI daily closes shipped in the `arch` package), "
        "'yahoo' (online, optional), or a path to a CSV/Parquet file in long or wide form.",
    )
    assets: list[str] | None = Field(
        None, description="Assets to keep (columns/tickers). None keeps every asset in the source."
    )
    start: dt.date | None = Field(None, description="First date to keep (inclusive).")
    end: dt.date | None = Field(None, description="Last date to keep (inclusive).")
    date_col: str | None = Field(None, description="Date column name; common names (Date, date, Datetime) are recognised.")
    asset_col: str | None = Field(None, description="Asset column of a long file; Ticker, Symbol, asset are recognised.")
    price_col: str | None = Field(None, description="Price column of a long file; Close, Adj Close, price are recognised.")
    align: Literal["inner", "ffill"] = Field(
        "inner", description="How to align assets on dates: inner join, or forward-fill gaps up to `ffill_limit` days."
    )
    ffill_limit: int = Field(5, ge=1, le=30, description="Largest gap (trading days) forward-fill may bridge.")
    return_kind: Literal["log", "simple"] = Field("log", description="Log returns (default) or simple returns.")
    tickers: list[str] | None = Field(None, description="Tickers for the 'yahoo' source.")

    @model_validator(mode="after")
    def _check_dates(self) -> "SourceConfig":
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}; swap them or widen the range")
        return self


class ValidationConfig(_Model):
    """great-expectations suites for prices and returns."""

    mode: Literal["strict", "repair"] = Field(
        "strict",
        description="strict: fail the run listing every failing expectation; "
        "repair: drop offending rows into quarantine.parquet and continue.",
    )
    min_rows: int = Field(250, ge=2, description="Minimum number of price rows (about one trading year).")
    max_abs_return: float = Field(0.5, gt=0, le=10, description="Largest plausible |daily return|.")
    max_unchanged_run: int = Field(10, ge=2, description="Longest run of identical consecutive prices allowed.")
    min_observations: int = Field(250, ge=2, description="Minimum number of return observations per asset.")
    max_gap_days: int = Field(
        10, ge=1, le=3660,
        description="Longest gap (calendar days) between consecutive prices; a longer gap would be read as one "
        "day's return, so it fails validation in both modes, naming the dates.",
    )


class EncodingConfig(_Model):
    """Discretisation of returns (or GARCH residuals) onto a qubit grid."""

    num_qubits: int = Field(3, ge=1, le=8, description="Qubits per asset: 2**n bins per asset.")
    bounds: list[tuple[float, float]] | None = Field(
        None, description="Explicit (low, high) per asset; None uses robust quantiles widened by `margin`."
    )
    quantiles: tuple[float, float] = Field(
        (0.005, 0.995), description="Quantiles that set the default bounds (values outside go to edge bins)."
    )
    margin: float = Field(0.0, ge=0, le=1, description="Widen the quantile range by this fraction of its width.")
    loader: Literal["normal", "lognormal", "uniform"] = Field(
        "normal", description="qiskit-finance prior state loader (multivariate normal fitted to the data by default)."
    )

    @field_validator("quantiles")
    @classmethod
    def _check_quantiles(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not 0 <= low < high <= 1:
            raise ValueError(f"quantiles must satisfy 0 <= low < high <= 1, got {value}")
        return value


class CircuitConfig(_Model):
    """The generator circuit: prior loader followed by a hardware-efficient ansatz."""

    ansatz: Literal["ry_cz", "efficient_su2", "h_ry_cx"] = Field(
        "ry_cz",
        description="ry_cz (RY + CZ, default: at θ=0 it leaves the fitted prior untouched), efficient_su2 "
        "(RY/RZ + CX; its CX ladders permute the prior at θ=0) or the H + RY + CNOT ladder (use with loader none).",
    )
    reps: int = Field(10, ge=1, le=40, description="Ansatz repetitions (depth).")
    entanglement: Literal["linear", "reverse_linear", "circular", "full", "device"] = Field(
        "full",
        description="Entangler map spanning all asset registers, so cross-asset correlation can be learned; "
        "device: the hardware profile (CZ on the couplings of a chosen path on hardware.backend, few reps).",
    )
    prior: Literal["loader", "marginals", "uniform"] = Field(
        "loader",
        description="Prior in front of the ansatz: the encoding's full loader (deep: about 1,168 CX at 9 qubits), "
        "marginals (a product of each asset's exact marginal: shallow, for hardware) or uniform (an H layer).",
    )
    init_scale: float = Field(0.1, ge=0, le=3.2, description="Std of the random initial angles (radians).")
    seed: int = Field(7, description="Seed of the initial parameters.")


class ExecutorConfig(_Model):
    """How the generator circuit is evaluated."""

    name: Literal["exact", "statevector", "aer", "aer_mps", "aer_density", "exact_noisy", "ibm"] = Field(
        "exact",
        description="exact: differentiable PyTorch statevector (default); aer / aer_mps: shot sampling; "
        "exact_noisy: differentiable density matrix with the device's noise (hardware.backend); aer_density: "
        "Aer density matrix, exact noisy probabilities; ibm: IBM Quantum via SamplerV2 (fake devices run in "
        "local testing mode).",
    )
    shots: int = Field(4096, ge=16, description="Shots per circuit for sampling executors.")
    precision: Literal["complex128", "complex64"] = Field("complex128", description="exact executor precision.")
    device: str = Field("cpu", description="torch device for the exact executor ('cpu', 'cuda').")
    noise_backend: str | None = Field(
        None, description="Fake IBM backend name for an aer noise model (e.g. 'FakeManilaV2'); None is noiseless."
    )
    seed: int = Field(11, description="Seed of the sampling executors.")
    threads: int | None = Field(
        None, ge=1, le=256,
        description="torch threads while training; None applies the thread policy (one thread below 18 qubits, "
        "the idle cores above, one per Dask worker, never more than the CPU affinity).",
    )
    shot_budget: int | None = Field(
        None, ge=1, description="Most shots a run may execute (calibration included); training stops cleanly at the "
        "last completed epoch once the next would overrun it. None: unlimited.",
    )
    idle_noise: bool = Field(
        True, description="Noisy simulators schedule the circuit so idle qubits relax as on the device."
    )
    ibm_backend: str = Field(
        "FakeGuadalupeV2", description="executor ibm: an IBM device (e.g. 'ibm_brisbane'), or a fake device name "
        "for qiskit-ibm-runtime's local testing mode."
    )
    ibm_instance: str | None = Field(None, description="executor ibm: IBM Cloud instance (CRN or name).")
    ibm_mode: Literal["job", "batch", "session"] = Field("job", description="executor ibm: runtime execution mode.")
    ibm_token_secret: str | None = Field(
        None, description="executor ibm: name of a Prefect Secret block holding the token; None reads "
        "$QISKIT_IBM_TOKEN. The token is never logged or written."
    )
    fallback: Literal["error", "simulator"] = Field(
        "error", description="executor ibm without token or network: fail with a clear error, or continue on the "
        "fake device's noise model (hardware.backend), which every output then says."
    )


class HardwareConfig(_Model):
    """The device a hardware-aware run targets: its coupling map, noise model and transpiler settings."""

    backend: str = Field(
        "FakeGuadalupeV2", description="Fake IBM device (qiskit_ibm_runtime.fake_provider) whose coupling map, "
        "gate errors, T1/T2 and readout errors the hardware profile and the noisy executors use."
    )
    optimization_level: int = Field(3, ge=0, le=3, description="Preset pass-manager optimisation level.")
    layout: list[int] | None = Field(
        None, description="Physical qubits for logical qubits 0…N-1; None picks the lowest-error connected path."
    )
    seed_transpiler: int = Field(0, description="Seed of the transpiler (recorded).")


class MitigationConfig(_Model):
    """Error mitigation: each option alone or stacked; every distribution a noisy run estimates goes through it."""

    readout: bool = Field(False, description="M3 readout mitigation on the measured physical qubits (mthree).")
    readout_shots: int = Field(4096, ge=100, le=1_000_000, description="M3 calibration shots per circuit.")
    twirling: bool = Field(False, description="Pauli twirling of 2-qubit gates (runtime option on ibm; emulated locally).")
    num_randomizations: int = Field(8, ge=1, le=256, description="Twirled copies; the shots are split between them.")
    dd: bool = Field(False, description="Dynamical decoupling in idle windows (runtime option on ibm; emulated locally).")
    dd_sequence: Literal["xx", "xy4"] = Field("xx", description="DD sequence of the local emulation.")
    zne: bool = Field(False, description="Zero-noise extrapolation of the whole distribution (2q-gate folding).")
    zne_scales: list[int] = Field([1, 3, 5], min_length=2, description="Odd noise scale factors of ZNE.")
    zne_extrapolation: Literal["linear", "richardson", "exponential"] = Field(
        "linear", description="How each basis-state probability is extrapolated to zero noise."
    )
    compare: bool = Field(
        True, description="On a noisy run, measure every option's effect (fidelity and cost) for the report's "
        "'Noise and mitigation' section."
    )
    compare_shots: int = Field(8192, ge=100, le=1_000_000, description="Shots of each run of that comparison.")

    @field_validator("zne_scales")
    @classmethod
    def _check_scales(cls, value: list[int]) -> list[int]:
        if any(s < 1 or s % 2 == 0 for s in value) or len(set(value)) != len(value):
            raise ValueError(f"zne_scales must be distinct odd integers >= 1 (e.g. [1, 3, 5]), got {value}")
        return value


class TrainingConfig(_Model):
    """qGAN training: PyTorch discriminator, Adam or COBYLA for the generator."""

    optimizer: Literal["adam", "cobyla"] = Field("adam", description="Generator optimiser.")
    loss: Literal["renyi", "bce"] = Field(
        "renyi",
        description="Generator loss. renyi (default): Rényi-α divergence from the training histogram, stable and "
        "the best out of sample on the bundled data; bce: the adversarial loss against the PyTorch discriminator "
        "(the discriminator is trained and saved in both cases).",
    )
    renyi_alpha: float = Field(0.5, gt=0, description="α of the Rényi loss (α→1 is KL; ½ is tolerant of empty bins).")
    epochs: int = Field(2000, ge=1, le=100_000, description="Training epochs.")
    batch_size: int = Field(1024, ge=1, description="Real minibatch size seen by the discriminator.")
    generator_lr: float = Field(0.02, gt=0, description="Adam learning rate of the generator.")
    discriminator_lr: float = Field(0.05, gt=0, description="Adam learning rate of the discriminator.")
    betas: tuple[float, float] = Field((0.7, 0.999), description="Adam betas (both optimisers).")
    weight_decay: float = Field(0.0, ge=0, description="Adam weight decay (both optimisers).")
    discriminator_hidden: list[int] = Field([32, 32], description="Hidden layer widths of the discriminator MLP.")
    generator_steps: int = Field(1, ge=1, le=100, description="Generator updates per epoch.")
    discriminator_steps: int = Field(3, ge=1, le=100, description="Discriminator updates per epoch.")
    cobyla_evals: int | None = Field(
        None, ge=3, description="COBYLA evaluations per epoch (None: 2·(parameters+1); at least parameters+2)."
    )
    cobyla_rhobeg: float = Field(0.1, gt=0, description="COBYLA initial step (radians).")
    kl_tolerance: float | None = Field(None, ge=0, description="Stop early once KL(target‖generator) <= this.")
    checkpoint_every: int = Field(500, ge=0, description="Checkpoint every k epochs (0 disables).")
    metrics_every: int = Field(
        10, ge=1, le=10_000,
        description="Compute KL/JS/fidelity every k epochs and at the last (NaN between); with the Rényi loss "
        "the discriminator, which the generator never reads, is trained on those epochs only.",
    )
    seed: int = Field(1234, description="Seed of the discriminator, minibatches and sampling.")
    warm_start: Path | None = Field(
        None, description="A saved model folder (e.g. data/runs/<id>/model, trained with the exact executor) whose "
        "parameters start this run: pre-train ideally, fine-tune on device noise."
    )


class ScenarioConfig(_Model):
    """Trajectory generation."""

    mode: Literal["garch", "iid"] = Field(
        "garch",
        description="garch: qGAN learns GARCH(1,1)-t standardised residuals and paths re-apply the variance "
        "recursion; iid: every step is an independent joint draw of returns.",
    )
    dequantise: Literal["empirical", "uniform", "centre"] = Field(
        "empirical",
        description="Where a draw lands inside the grid cell the generator picked: empirical (default: a training "
        "value from that cell, uniform where the cell held none; keeps within-cell cross-asset dependence and the "
        "tails beyond the edge bins), uniform (independently uniform per asset within the cell), or the cell centre.",
    )
    n_paths: int = Field(2000, ge=1, le=1_000_000, description="Number of simulated paths.")
    horizon: int = Field(10, ge=1, le=2520, description="Steps (trading days) per path.")
    seed: int = Field(2024, description="Seed of path sampling.")


class StressConfig(_Model):
    """Stress scenarios for a portfolio."""

    weights: list[float] | None = Field(None, description="Portfolio weights per asset; None is equal weights.")
    var_level: float = Field(0.99, gt=0.5, lt=1, description="VaR level q selecting tail scenarios.")
    vol_shock: float = Field(2.0, ge=1, le=10, description="Volatility shock factor k.")
    correlation_level: float = Field(0.9, ge=-0.99, le=0.99, description="Stress level for off-diagonal correlation.")
    replay_windows: int = Field(5, ge=1, le=50, description="Worst historical H-day windows to replay.")
    risk_levels: list[float] = Field([0.95, 0.99], description="VaR/ES levels in the risk table.")
    risk_horizons: list[int] = Field([1, 5, 10], description="Horizons (days) in the risk table.")


class EvaluationConfig(_Model):
    """Honest evaluation: date split and baselines."""

    split_date: dt.date = Field(
        dt.date(2012, 12, 31), description="Train on data up to and including this date; evaluate on the rest."
    )
    backtest_level: float = Field(0.99, gt=0.5, lt=1, description="One-day VaR level of the backtest (Kupiec).")
    rivals: list[Literal["gaussian", "fhs", "t_copula", "dcc", "classical_gan"]] = Field(
        ["gaussian", "fhs", "t_copula", "dcc", "classical_gan"],
        description="Classical rivals fitted on the same training period and scored beside the qGAN (comparison "
        "table, backtests, stylized facts). Each costs evaluate time (the classical GAN up to `rival_seconds`); "
        "an empty list keeps only the Gaussian and bootstrap baselines of the metric table.",
    )
    rival_seconds: float = Field(
        10.0, gt=0, le=3600, description="Training-time budget of the classical GAN rival (seconds)."
    )
    rivals_in_parallel: bool = Field(
        True,
        description="Fit and score the rivals in a separate process while the generator trains (they need only the "
        "data). Gains their whole cost on a machine with a spare core; off, they run inside the evaluate stage.",
    )
    joint_grid_max_assets: int = Field(
        4, ge=1, le=8,
        description="Grid metrics (KL, fidelity, coverage) on the joint grid of all assets up to this many assets; "
        "above it (and whenever the joint grid is not built) the mean over every asset pair's 2-D grid, "
        "encoding.num_qubits per asset (quantum_scenarios.evaluation.grids).",
    )


class ModelConfig(_Model):
    """Which generative model learns the values, and how it is selected (issue 9)."""

    mode: Literal["auto", "joint", "copula", "factor", "hybrid"] = Field(
        "auto",
        description="auto: joint up to `factor_threshold` assets, factor above; joint: the d-asset joint histogram "
        "(2**(n d) cells); copula: marginals apart, the qGAN learns the copula on a uniform grid; factor: the copula "
        "qGAN on `factors` PCA factors plus idiosyncratic noise (5-50 assets); hybrid: quantum latent + PyTorch decoder.",
    )
    factor_threshold: int = Field(4, ge=1, le=50, description="auto picks factor mode above this many assets.")
    factors: int = Field(3, ge=1, le=20, description="Factors k of factor mode (PCA of the residual correlation).")
    idiosyncratic: Literal["t", "bootstrap"] = Field(
        "t", description="Factor-mode residuals: Student-t marginals with their Gaussian-copula correlation, or bootstrap rows."
    )
    marginal: Literal["empirical", "t"] = Field(
        "empirical", description="Marginals of copula/factor mode: empirical (interpolated) or fitted Student-t."
    )
    copula_qubits: int = Field(4, ge=1, le=6, description="Qubits per asset (or factor) on the copula's uniform grid.")
    latent_qubits: int = Field(4, ge=1, le=10, description="Latent qubits of hybrid mode (2**n decoder components).")
    validation_fraction: float = Field(
        0.2, ge=0, lt=0.9,
        description="Last share of the training period held out for model selection (early stopping on "
        "KL(validation || model)); the test period is never used. 0 trains the full epochs on everything.",
    )
    check_every: int = Field(100, ge=1, le=10_000, description="Epochs between validation checks.")
    patience: int = Field(3, ge=1, le=100, description="Checks without validation improvement before stopping.")
    max_seconds: float | None = Field(None, gt=0, description="Training time budget in seconds (None: epochs only).")
    smoothing: float = Field(
        0.0, ge=0, le=5, description="Gaussian smoothing (in cells) of a sparse training histogram; 0 = none."
    )
    selection: Literal["none", "validation"] = Field(
        "none",
        description="none: train the configured mode and settings; validation: choose mode, qubits per asset, depth "
        "and loss from a small grid by KL(validation || model) on the last `validation_fraction` of the training "
        "period (early stopping fixes the epochs), then refit the choice on the whole training period "
        "(quantum_scenarios.models.selection); the test period is never used.",
    )


class OutputConfig(_Model):
    """Where outputs go."""

    workdir: Path = Field(Path("."), description="Folder holding data/runs/<run_id>/ and reports/<run_id>/.")
    run_id: str | None = Field(None, description="Run identifier; None derives one from the time and config.")

    @field_validator("run_id")
    @classmethod
    def _check_run_id(cls, value: str | None) -> str | None:
        if value is not None and (not value or any(c in value for c in "/\\") or value in {".", ".."}):
            raise ValueError(f"run_id must be a plain folder name without '/', got {value!r}")
        return value


class OperationsConfig(_Model):
    """Protection and alerts when flows run on a server: concurrency and failure notification."""

    training_slots: int = Field(
        1, ge=1, le=64,
        description="Training runs allowed at once across all workers (global concurrency limit 'qscen-training').",
    )
    same_run_id: Literal["refuse", "wait"] = Field(
        "refuse", description="When a run with the same run_id is already running: refuse at once, or wait for it.",
    )
    wait_seconds: float = Field(
        3600.0, ge=0, le=86_400,
        description="Longest wait for a training slot, or for the same run_id in 'wait' mode, before failing.",
    )
    notify_block: str | None = Field(
        None,
        description="Name of a Prefect notification block (e.g. a Custom Webhook block) told about failures and "
        "crashes; None publishes the failure artifact only.",
    )
    reports_url: str | None = Field(
        None,
        description="Base URL where the work folder is served (a static web server or object-storage website); "
        "artifact links point there. None lists plain paths.",
    )


class PipelineConfig(_Model):
    """The whole pipeline: one section per concern."""

    source: SourceConfig = SourceConfig()
    validation: ValidationConfig = ValidationConfig()
    encoding: EncodingConfig = EncodingConfig()
    circuit: CircuitConfig = CircuitConfig()
    executor: ExecutorConfig = ExecutorConfig()
    hardware: HardwareConfig = HardwareConfig()
    mitigation: MitigationConfig = MitigationConfig()
    training: TrainingConfig = TrainingConfig()
    model: ModelConfig = ModelConfig()
    scenarios: ScenarioConfig = ScenarioConfig()
    stress: StressConfig = StressConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    output: OutputConfig = OutputConfig()
    operations: OperationsConfig = OperationsConfig()


class SweepConfig(_Model):
    """A parameter sweep: a grid over any pipeline options, scored out of sample."""

    grid: dict[str, list[Any]] = Field(
        {"circuit.seed": [7, 8], "circuit.reps": [2, 4]},
        description="Options to sweep as 'section.field' -> values; every combination is one configuration.",
    )
    metric: str = Field("qgan_fidelity_out", description="Headline metric that ranks configurations.")
    maximize: bool = Field(True, description="Whether a larger metric is better (fidelity) or smaller (KL).")
    dask_address: str | None = Field(
        None, description="Scheduler address of an existing Dask cluster; None starts a local cluster."
    )
    workers: int | None = Field(
        None, ge=1, le=512, description="Workers of the local cluster (one thread each); None uses every core."
    )


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> PipelineConfig:
    """Load a YAML config file (partial is fine) and apply ``key=value`` overrides.

    Args:
        path: YAML file whose sections mirror :class:`PipelineConfig`; None uses defaults.
        overrides: ``section.field=value`` strings; values are parsed as YAML scalars/lists.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not a mapping, or a value breaks a field's bounds.
    """
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file {path} not found")
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            at = f" at line {where.line + 1}, column {where.column + 1}" if where is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ValueError(f"config file {path} is not valid YAML{at}: {problem}; fix the file") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"config file {path} must hold a mapping of sections, got {type(loaded).__name__}")
        data = loaded
    data = apply_overrides(data, overrides or [])
    return PipelineConfig.model_validate(data)


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.field=value`` overrides to a nested dict (values parsed as YAML)."""
    sections = set(PipelineConfig.model_fields)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or "." not in key:
            raise ValueError(f"override {item!r} must look like section.field=value, e.g. training.epochs=100")
        section, _, field = key.strip().partition(".")
        if section not in sections:
            raise ValueError(f"override {item!r}: unknown section {section!r}; expected one of {sorted(sections)}")
        model = PipelineConfig.model_fields[section].annotation
        if field not in model.model_fields:  # type: ignore[union-attr]
            raise ValueError(
                f"override {item!r}: unknown field {field!r} in section {section!r}; "
                f"expected one of {sorted(model.model_fields)}"  # type: ignore[union-attr]
            )
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise ValueError(
                f"override {item!r}: the value {raw!r} is not valid YAML; quote text, and write lists as "
                "a,b,c or [a, b, c]"
            ) from None
        if isinstance(value, str) and "," in value and _takes_sequence(model.model_fields[field].annotation):
            value = [yaml.safe_load(part.strip()) for part in value.split(",")]  # --set source.assets=A,B
        data.setdefault(section, {})[field] = value
    return data


def _takes_sequence(annotation: Any) -> bool:
    """Whether a field's type accepts a list or tuple (so a comma list is split)."""
    import typing

    origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        return True
    return any(_takes_sequence(arg) for arg in typing.get_args(annotation)) if origin is not None else False


def _bounds(info: Any) -> str:
    parts = []
    for item in info.metadata:
        for name, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if getattr(item, name, None) is not None:
                parts.append(f"{sign} {getattr(item, name)}")
    import typing

    args = [a for a in typing.get_args(info.annotation)] or [info.annotation]
    choices = [c for a in args if typing.get_origin(a) is Literal for c in typing.get_args(a)]
    if typing.get_origin(info.annotation) is Literal:
        choices = list(typing.get_args(info.annotation))
    text = ", ".join(parts)
    if choices:
        text = (text + "; " if text else "") + "one of " + ", ".join(str(c) for c in choices)
    return text


def describe_config(config: "PipelineConfig | None" = None) -> str:
    """The configuration as YAML with each option's description, bounds and choices as comments.

    The output loads back with :func:`load_config` (comments are ignored).
    """
    config = config or PipelineConfig()
    dumped = config.model_dump(mode="json")
    lines = ["# qscen configuration: set options in a YAML file (--config) or with --set section.field=value;",
             "# list options take comma lists (--set source.assets=SP500,WTI).", ""]
    for section, info in PipelineConfig.model_fields.items():
        model = info.annotation
        lines.append(f"# {(model.__doc__ or section).strip().splitlines()[0]}")
        lines.append(f"{section}:")
        for name, field in model.model_fields.items():  # type: ignore[union-attr]
            value = yaml.safe_dump({name: dumped[section][name]}, default_flow_style=True, width=10_000).strip()
            value = value[1:-1] if value.startswith("{") else value
            bounds = _bounds(field)
            lines.append(f"  # {section}.{name}: {field.description or ''}" + (f" [{bounds}]" if bounds else ""))
            lines.append(f"  {value}")
        lines.append("")
    return "\n".join(lines)
