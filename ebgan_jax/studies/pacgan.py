"""``make results PROTOCOL=pacgan``: PacGAN's protocols at their own budgets, next to its
Tables 1 and 2 (Lin et al. 2018).

  python -m ebgan_jax.studies.pacgan [--steps N] [--seeds 10]
      [--datasets ring,grid[,stacked_mnist,stacked_digits]]
      [--models GAN,PacGAN2,PacGAN3,PacGAN4] [--out results/pacgan] [--workdir runs/pacgan]
      [--report] [--config.<key>=<value> ...]

Every model is its dataset's published set-up with the changes its row names: on the 2-D
mixtures PacGAN's (``configs.pacgan_config``: its networks, optimizer, batch, simultaneous
updates and fixed 100,000-point training set, 400,000 updates), on Stacked MNIST VEEGAN's as
PacGAN reruns it (``configs.stacked_mnist_config``: the TensorFlow DCGAN, 128,000 fixed triples,
100,000 updates; needs MNIST prepared for TFDS, ``--config.data.data_dir``), and the same on
the embedded stacked digits (``configs.stacked_digits_config``). ``--steps``
defaults to each dataset's published budget. The seeds of one (dataset, model) pair train
together as one vmapped sweep. Rerunning the
same command resumes every sweep where it stopped, so the table can be trained over several
sessions. ``--config.*`` flags apply to every model (for the energy-based rows, e.g.
``--config.margin``).

``--report`` writes the report of the runs as they stand (each seed's last evaluation), for a
table that is still training; it also says at which update each row first came within two
standard errors of the published one. It covers every row, whichever ``--datasets`` and
``--models`` name.

``--sweep margin`` trains the small sweep that sets the energy-based rows' margin on each
mixture (:data:`MARGIN_SWEEP`: four margins, EBGAN-PT) and writes ``<out>/margins.md``; the
margin is the one ``configs.pacgan_config`` holds (``PACGAN_MARGINS``). ``--sweep code`` does
the same for the width of BEGAN's and MAGAN's code (:data:`CODE_SWEEP`, ``<out>/codes.md``),
``--sweep penalty`` for the weight of the Loss-Sensitive GAN's gradient penalty
(:data:`PENALTY_SWEEP`, ``<out>/penalties.md``). Each trains 10,000 updates on seeds 100 and
101, which no table row uses, and chooses by one rule (:func:`choose`).

Writes ``<out>/README.md`` (every row of the report and every row trained in the workdir,
whichever rows the command named: mean ± standard error over seeds next to the published row),
``<out>/results.json`` (each seed's last evaluation), ``<out>/curves.json`` (each seed's
evaluations and each row's cost: what the next report starts from, so that the table survives
a fresh workdir, and a row is replaced only by a run of it trained further) and
``<out>/curves.png`` (the dataset's two headline metrics against the training step, mean ±
s.e., the published value dashed).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

from ebgan_jax.configs import split_overrides
from ebgan_jax import cli
from ebgan_jax.studies import report

MODELS = {  # name: overrides of configs.pacgan_config
    "GAN": {"algorithm": "gan"},
    "PacGAN2": {"algorithm": "gan", "pack": 2},
    "PacGAN3": {"algorithm": "gan", "pack": 3},
    "PacGAN4": {"algorithm": "gan", "pack": 4},
    "EBGAN": {"algorithm": "ebgan"},
    "EBGAN-PT": {"algorithm": "ebgan", "pt_weight": 0.1},
    "PacEBGAN2": {"algorithm": "ebgan", "pack": 2},
    # BEGAN's and MAGAN's controllers read the energies of the auto-encoder, so its code
    # matters: the maxout auto-encoder gets a linear code between encoder and decoder, its width
    # (2 units, as wide as the data) the choice of the held-out sweep ``--sweep code`` among 1,
    # 2, 4 units and none (results/pacgan/codes.md). BEGAN keeps its controller (gamma 0.5,
    # lambda_k 0.001) and halves the learning rates when a 10,000-update window of M_global does
    # not improve; MAGAN's epoch is the 1,000 updates that visit the 100,000 training points
    # once, and it pre-trains for 2 of them, as released.
    "BEGAN": {"algorithm": "began", "model.bottleneck_d": 2, "began.lr_window": 10000},
    "MAGAN": {"algorithm": "magan", "model.bottleneck_d": 2, "magan.steps_per_epoch": 1000,
              "magan.pretrain_steps": 2000},
    # The Loss-Sensitive GAN's loss L is the energy of the EBGAN rows' auto-encoder; its
    # Lipschitz control is the one-sided gradient penalty, its weight set by a held-out sweep.
    "LS-GAN": {"algorithm": "lsgan", "lsgan.gradient_penalty": 0.1},
}
DEFAULT_MODELS = ("GAN", "PacGAN2", "PacGAN3", "PacGAN4")
_MIXTURE_METRICS = (("modes_covered", 1, "modes"), ("high_quality", 100, "high quality (%)"),
                    ("reverse_kl", 1, "reverse KL"))


@dataclasses.dataclass(frozen=True)
class Protocol:
  """One dataset's published set-up: its config, its metrics ``(key, scale, heading)`` (the
  first two are the curves' and the "at published" test's), and the published rows: mean ±
  standard error over 10 runs of each metric, with the runs' budget."""
  config: str  # the name of the ``configs`` function that builds the set-up
  args: tuple
  metrics: tuple
  published: dict
  budget: int
  source: str


PROTOCOLS = {
    # Lin et al. 2018, Table 1.
    "ring": Protocol("pacgan_config", ("ring",), _MIXTURE_METRICS, {
        "GAN": ((6.3, 0.5), (98.2, 0.2), (0.45, 0.09)),
        "PacGAN2": ((7.9, 0.1), (95.6, 2.0), (0.07, 0.03)),
        "PacGAN3": ((7.8, 0.1), (97.7, 0.3), (0.10, 0.02)),
        "PacGAN4": ((7.8, 0.1), (95.9, 1.4), (0.07, 0.02))}, 400000, "Table 1"),
    "grid": Protocol("pacgan_config", ("grid",), _MIXTURE_METRICS, {
        "GAN": ((17.3, 0.8), (94.8, 0.7), (0.70, 0.07)),
        "PacGAN2": ((23.8, 0.7), (91.3, 0.8), (0.13, 0.04)),
        "PacGAN3": ((24.6, 0.4), (94.2, 0.4), (0.06, 0.02)),
        "PacGAN4": ((24.8, 0.2), (93.6, 0.6), (0.04, 0.01))}, 400000, "Table 1"),
    # Lin et al. 2018, Table 2: their own DCGAN and PacDCGAN2-4 (VEEGAN's DCGAN figure, 99.0
    # modes and KL 3.40, is a single number without an error).
    "stacked_mnist": Protocol("stacked_mnist_config", (), (
        ("modes_covered", 1, "modes (of 1,000)"), ("kl_to_uniform", 1, "KL to uniform")), {
        "GAN": ((78.9, 6.46), (4.50, 0.127)),
        "PacGAN2": ((1000.0, 0.0), (0.06, 0.003)),
        "PacGAN3": ((1000.0, 0.0), (0.06, 0.003)),
        "PacGAN4": ((1000.0, 0.0), (0.07, 0.005))}, 100000, "Table 2"),
    # The same protocol on the embedded stacked digits (this package's digits classifier):
    # Table 2's rows are on MNIST, the nearest published reference, not the same data.
    "stacked_digits": Protocol("stacked_digits_config", (), (
        ("modes_covered", 1, "modes (of 1,000)"), ("kl_to_uniform", 1, "KL to uniform")), {},
        100000, "Table 2's protocol on the embedded digits"),
}
# Every published row, ``{(dataset, model): row}``.
PUBLISHED = {(d, m): row for d, p in PROTOCOLS.items() for m, row in p.published.items()}


# The held-out sweeps that set a design value of some rows: 10,000 updates on seeds that no
# table row uses, each value scored by one rule (:func:`choose`).
SWEEP_SEEDS = (100, 101)
SWEEP_STEPS = 10000
# The margin of the energy-based rows (EBGAN-PT). The energy is the mean squared reconstruction
# error, so the grid (modes 2 apart) gets margins about ten times the ring's (modes 0.77 apart).
MARGIN_SWEEP = {"ring": (0.03, 0.1, 0.3, 1.0), "grid": (0.1, 0.3, 1.0, 3.0)}
# The width of BEGAN's and MAGAN's linear code between encoder and decoder; 0 is no code (the
# EBGAN rows' auto-encoder, which can learn the identity of 2-D points).
CODE_SWEEP = {"ring": (1, 2, 4, 0), "grid": (1, 2, 4, 0)}
# The weight of the Loss-Sensitive GAN's gradient penalty (its Lipschitz control; 0 would be a
# network without the penalty's state, another program, and the theory needs the control).
PENALTY_SWEEP = {"ring": (0.1, 1.0, 10.0), "grid": (0.1, 1.0, 10.0)}


@dataclasses.dataclass(frozen=True)
class HeldOutSweep:
  """One design sweep: ``key`` over ``values[dataset]``, for each of ``models``, on
  :data:`SWEEP_SEEDS` for :data:`SWEEP_STEPS` updates; the report is ``<out>/<report>``."""
  key: str
  values: dict
  models: tuple
  report: str
  title: str
  preamble: str
  columns: tuple  # extra ``(result key, heading)`` columns: the controller at work
  rule_fixed: str  # when the rule was written down, against when the sweep was seen


HELD_OUT_SWEEPS = {
    "margin": HeldOutSweep(
        "margin", MARGIN_SWEEP, ("EBGAN-PT",), "margins.md",
        "The margin of the energy-based rows",
        "EBGAN-PT (PT weight 0.1) on PacGAN's set-up. The energy is the mean squared "
        "reconstruction error of the 2-D point.",
        (("frac_fake_below_margin", "fakes under the margin"),),
        "written down after the ring's sweep had been seen, before the grid's had finished"),
    "code": HeldOutSweep(
        "model.bottleneck_d", CODE_SWEEP, ("BEGAN", "MAGAN"), "codes.md",
        "The code of BEGAN's and MAGAN's auto-encoder",
        "The BEGAN and MAGAN rows (their controllers, learning rates and epochs as in the "
        "table) with a linear code of 1, 2 or 4 units between the maxout encoder and decoder, "
        "or none (0: the EBGAN rows' auto-encoder). k_t off clip: the fraction of logged "
        "updates at which BEGAN's k_t was strictly between 0 and 1; fakes under the margin: "
        "MAGAN's, averaged over the second half of training.",
        (("k_off_clip", "k_t off clip"), ("late_frac_below_margin", "fakes under the margin")),
        "fixed before the sweep was trained"),
    "penalty": HeldOutSweep(
        "lsgan.gradient_penalty", PENALTY_SWEEP, ("LS-GAN",), "penalties.md",
        "The Lipschitz control of the Loss-Sensitive GAN",
        "The LS-GAN row (lambda 1, Delta the mean absolute difference of paired real and fake "
        "points, L the energy of the EBGAN rows' auto-encoder) with the one-sided gradient "
        "penalty on L at weights 0.1, 1 and 10, one program.", (),
        "fixed before the sweep was trained"),
}


def _sweep_cadence() -> list[str]:
  every = max(1, SWEEP_STEPS // 5)
  return [f"eval_every={every}", f"checkpoint_every={every}",
          f"log_every={max(1, SWEEP_STEPS // 10)}"]


def margin_sweep_config(dataset: str, overrides=()):
  """EBGAN-PT on PacGAN's set-up of ``dataset`` at the sweep's budget."""
  from ebgan_jax import configs
  config = configs.load_config(f"toy_{dataset}_gan")
  configs.apply_overrides(config, ["algorithm=ebgan", "pt_weight=0.1",
                                   f"num_steps={SWEEP_STEPS}", *_sweep_cadence(), *overrides])
  configs.validate(config)
  return config


def held_value(sweep_name: str, dataset: str, model: str) -> tuple[str, float]:
  """Where the table's row holds the swept value now (for the report), and the value."""
  if sweep_name == "margin":
    from ebgan_jax import configs
    return "`configs.pacgan_config` holds margin", configs.PACGAN_MARGINS[dataset]
  key = HELD_OUT_SWEEPS[sweep_name].key
  return f"`pacgan.MODELS[{model!r}]` holds {key}", MODELS[model][key]


def _width(value: float) -> float:
  return float("inf") if value == 0 else value


def sweep_scores(rows: list[dict], key: str, num_modes: int) -> dict[float, float]:
  """Per value of ``key``, the mean over its seeds of (modes covered / modes) x high-quality
  fraction at the sweep's last evaluation: coverage and quality together, neither alone."""
  import numpy as np
  by_value: dict[float, list[float]] = {}
  for r in rows:
    by_value.setdefault(float(r[key]), []).append(
        r["modes_covered"] / num_modes * r["high_quality"])
  return {v: float(np.mean(s)) for v, s in by_value.items()}


def choose(rows: list[dict], key: str, num_modes: int) -> float:
  """The value of ``key`` with the highest :func:`sweep_scores`. A tie goes to the smaller
  value (for a code width, the narrower code; 0, no code, is the widest)."""
  scores = sweep_scores(rows, key, num_modes)
  return max(scores, key=lambda v: (scores[v], -_width(v)))


def edge_of_range(value: float, values) -> str:
  """"lower" or "upper" when ``value`` is the end of the swept ``values`` (for a code width, 0,
  no code, is the widest), else ""."""
  ordered = sorted(values, key=_width)
  return "lower" if value == ordered[0] else "upper" if value == ordered[-1] else ""


def held_out_sweep(sweep_name: str, datasets, workdir: str, out: str, overrides=(),
                   progress: bool = True) -> dict | None:
  """Trains (or resumes) one of :data:`HELD_OUT_SWEEPS` on each mixture and writes its report.
  Returns ``{(dataset, model): chosen value}``, or None when interrupted."""
  from ebgan_jax import data, sweep
  spec_sweep = HELD_OUT_SWEEPS[sweep_name]
  lines = [f"# {spec_sweep.title}", "",
           f"Regenerate with `python -m ebgan_jax.studies.pacgan --sweep {sweep_name} --datasets "
           f"{','.join(datasets)}` (resumable). "
           f"{spec_sweep.preamble} {SWEEP_STEPS:,} updates, seeds "
           f"{', '.join(map(str, SWEEP_SEEDS))} (no table row uses them). Rule: the value with "
           "the highest mean over its seeds of (modes covered / modes) × high-quality fraction "
           f"at the last evaluation, a tie to the smaller value ({spec_sweep.rule_fixed}). A "
           "choice at the end of the swept range says the best value may lie beyond it.", ""]
  chosen = {}
  for dataset in datasets:
    modes = len(data.spec(dataset).mixture().modes)
    values = spec_sweep.values[dataset]
    for model in spec_sweep.models:
      if sweep_name == "margin":
        config = margin_sweep_config(dataset, overrides)
        where = os.path.join(workdir, "margins", dataset)
      else:
        config = model_config(dataset, model, SWEEP_STEPS, (*_sweep_cadence(), *overrides))
        where = os.path.join(workdir, os.path.splitext(spec_sweep.report)[0], dataset, model)
      spec = {spec_sweep.key: [str(v) for v in values], "seed": [str(s) for s in SWEEP_SEEDS]}
      results = sweep.run_sweep(config, spec, where, progress=progress)
      if not results:
        return None
      rows = [{**r, **dict(part.split("=") for part in r["member"].split(","))}
              for r in results]
      scores = sweep_scores(rows, spec_sweep.key, modes)
      best = chosen[dataset, model] = choose(rows, spec_sweep.key, modes)
      extra = [(k, h) for k, h in spec_sweep.columns if any(k in r for r in rows)]
      lines += [f"## {dataset} ({modes} modes): {model}", "",
                f"| {sweep_name} | seed | modes | high quality (%) | reverse KL |"
                + "".join(f" {h} |" for _, h in extra),
                "|---" * (5 + len(extra)) + "|"]
      for r in rows:
        lines.append(f"| {r[spec_sweep.key]} | {r['seed']} | {r['modes_covered']:g} | "
                     f"{100 * r['high_quality']:.1f} | {r['reverse_kl']:.3f} |"
                     + "".join(f" {r[k]:.2f} |" if k in r else " — |" for k, _ in extra))
      lines += ["", f"| {sweep_name} | mean (modes / modes) × high quality |", "|---|---|"]
      for v in values:
        mark = " **chosen**" if v == best else ""
        lines.append(f"| {v:g} | {scores[float(v)]:.3f}{mark} |")
      where_held, held = held_value(sweep_name, dataset, model)
      lines += ["", f"{where_held} {held:g} for {dataset}"
                + ("." if held == best else f": **not** the sweep's choice ({best:g}); "
                   "update it.")]
      edge = edge_of_range(best, values)
      if edge:
        lines[-1] += (f" The choice is at the {edge} edge of the swept range: the best value "
                      "may lie beyond it, which this sweep does not measure.")
      lines.append("")
  os.makedirs(out, exist_ok=True)
  with open(os.path.join(out, spec_sweep.report), "w") as f:
    f.write("\n".join(lines))
  return chosen


def model_config(dataset: str, model: str, steps: int, overrides=()):
  """The config of one row: the dataset's published set-up, the row's changes, then the
  user's."""
  from ebgan_jax import configs
  protocol = PROTOCOLS[dataset]
  config = getattr(configs, protocol.config)(*protocol.args)
  # Curves need points at any budget: every 10,000 updates, or 20 points for short runs.
  every = max(1, min(10000, steps // 20))
  configs.apply_overrides(config, [f"{k}={v}" for k, v in MODELS[model].items()] + [
      f"num_steps={steps}", f"eval_every={every}", f"checkpoint_every={every}",
      f"log_every={every}", f"sample_every={steps}", *overrides])
  configs.validate(config)
  return config


def run(datasets, models, seeds: int, steps: int | None, workdir: str, overrides=(),
        progress: bool = True) -> list[dict]:
  """Trains (or resumes) every row; ``steps=None`` is each dataset's published budget."""
  from ebgan_jax import sweep
  rows = []
  for dataset in datasets:
    for model in models:
      config = model_config(dataset, model, steps or PROTOCOLS[dataset].budget, overrides)
      t0 = time.perf_counter()
      results = sweep.run_sweep(config, report.seed_spec(seeds),
                                os.path.join(workdir, dataset, model), progress=progress)
      if not results:  # interrupted: rerunning the command resumes
        return rows
      for r in results:
        rows.append({"dataset": dataset, "model": model, "steps": config.num_steps,
                     "seconds": round(time.perf_counter() - t0, 1), **r})
  return rows


def curves(workdir: str) -> dict[str, list[dict]]:
  """Per member, its evaluations in step order (the step and the metrics): those logged in
  ``metrics.jsonl`` and, for a run that reached its end, the final one of its ``summary.json``
  where the log lacks it (runs trained before the loop logged its final evaluation)."""
  from ebgan_jax import rundir
  out: dict[str, list[dict]] = {}
  for row in rundir.read_metrics(workdir):
    if "modes_covered" in row:
      out.setdefault(row.get("member"), []).append(row)
  path = rundir.path(workdir, rundir.SUMMARY)
  if os.path.exists(path):
    summary = rundir.load(path)
    for final in (m for m in summary.get("members", []) if "modes_covered" in m):
      logged = out.setdefault(final["member"], [])
      if all(r["step"] != summary["steps"] for r in logged):
        logged.append({"step": summary["steps"], **final})
  return {member: sorted(rows, key=lambda r: r["step"]) for member, rows in out.items()}


def hours_per_100k(workdir: str) -> float | None:
  """The wall time the run's program (every seed at once) takes for 100,000 updates: the median
  over its logged windows, each window's time as the training loop measured it (training,
  evaluation and checkpoints between two logs). None before the first log."""
  import numpy as np
  from ebgan_jax import rundir
  path = rundir.path(workdir, rundir.CONFIG)
  if not os.path.exists(path):
    return None
  config = rundir.load(path)
  logged = [r for r in rundir.read_metrics(workdir) if "images_per_sec" in r]
  members = len({r.get("member") for r in logged})
  rates = [r["images_per_sec"] for r in {r["step"]: r for r in logged}.values()]
  if not rates:
    return None
  per_update = config["batch_size"] * config["pack"] * members  # images the rate counts
  return float(1e5 * per_update / np.median(rates) / 3600)


CURVES_FILE = "curves.json"


# Which generator produced a row: for PacGAN's 2-D networks the released code's or this
# project's earlier one (``model.pacgan_generator``; runs from before the key are the earlier
# one), otherwise the architecture.
GENERATORS = {"released": "released", "bias_free": "bias-free (earlier)", "dcgan_tf": "TF DCGAN"}


def generator_of(config: dict) -> str:
  """The generator of a run's stored config (see :data:`GENERATORS`)."""
  model = config["model"]
  if model["arch"] == "pacgan":
    return model.get("pacgan_generator", "bias_free")
  return model["arch"]


def record(workdir: str) -> dict | None:
  """One row as the report keeps it: per member its evaluations in step order (the step and
  every score, with the numbers of samples and neighbours they were measured with), the
  generator that produced it and the row's hours per 100,000 updates; None before the run's
  first evaluation."""
  from ebgan_jax import rundir
  logged = curves(workdir)
  if not logged:
    return None
  members = {member: [{"step": r["step"], **{k: v for k, v in r.items()
                                             if k not in ("step", "member")}} for r in rows]
             for member, rows in logged.items()}
  generator = generator_of(rundir.load(rundir.path(workdir, rundir.CONFIG)))
  return {"members": members, "generator": generator,
          "hours_per_100k": hours_per_100k(workdir)}


def _order(key: tuple[str, str, str]) -> tuple:
  dataset, model, generator = key
  return (list(PROTOCOLS).index(dataset), list(MODELS).index(model),
          list(GENERATORS).index(generator) if generator in GENERATORS else len(GENERATORS),
          generator)


def updates(row: dict) -> int:
  """The update every member of a recorded row has reached."""
  return min(evals[-1]["step"] for evals in row["members"].values())


def collect(workdir: str, out: str) -> dict[tuple[str, str, str], dict]:
  """Every row of the report, ``{(dataset, model, generator): row}``: the rows recorded in
  ``<out>/curves.json`` (the report as it stands, which may have been trained on another
  machine) and the runs in ``workdir``. Where both hold a row of the same generator the one
  trained further is kept (the run's on a tie), so that neither a new workdir nor a run started
  again from scratch drops a row the report already has; a row of another generator is kept
  beside it."""
  table = read_table(out) if os.path.exists(os.path.join(out, CURVES_FILE)) else {}
  for dataset in PROTOCOLS:
    for model in MODELS:
      row = record(os.path.join(workdir, dataset, model))
      if row is None:
        continue
      key = (dataset, model, row["generator"])
      kept = table.get(key)
      if kept is not None and updates(kept) > updates(row):
        print(f"note: {dataset} {model}: the report's row ({updates(kept):,} updates) is kept; "
              f"the run in {workdir} ({updates(row):,}) replaces it once it has trained "
              "further.", file=sys.stderr)
        continue
      table[key] = row
  return {key: table[key] for key in sorted(table, key=_order)}


def rows_so_far(table: dict[tuple[str, str, str], dict]) -> list[dict]:
  """The rows of the report as they stand: each member's last evaluation (a finished run's
  final scores; for a run trained on past an earlier end, its evaluations since), for a report
  of a table still training."""
  return [{"dataset": dataset, "model": model, "generator": generator,
           "steps": evals[-1]["step"], "member": member,
           **{k: v for k, v in evals[-1].items() if k != "step"}}
          for (dataset, model, generator), row in table.items()
          for member, evals in row["members"].items()]


def curve(logged: dict[str, list[dict]], metric: str, scale: float = 1.0
          ) -> tuple[list[int], list[report.Stats]]:
  """The evaluated steps and, at each, the mean ± standard error over members of ``metric``
  (times ``scale``)."""
  steps = sorted({r["step"] for rs in logged.values() for r in rs})
  return steps, [report.mean_se([r[metric] * scale for rs in logged.values() for r in rs
                                 if r["step"] == step]) for step in steps]


def first_step_at_published(logged: dict[str, list[dict]], published,
                            metrics=_MIXTURE_METRICS) -> int | None:
  """The first evaluated step at which the means over seeds of the first two ``metrics`` (modes
  and high-quality samples on the mixtures) are both within two standard errors of the
  published means (the two standard errors combined), or None."""
  import numpy as np
  (key_a, scale_a, _), (key_b, scale_b, _) = metrics[:2]
  steps, first = curve(logged, key_a, scale_a)
  _, second = curve(logged, key_b, scale_b)
  for step, *stats in zip(steps, first, second):
    if all(abs(got.mean - pub) <= 2 * np.hypot(got.se, pub_se)
           for got, (pub, pub_se) in zip(stats, published[:2])):
      return step
  return None


def read_table(out: str) -> dict[tuple[str, str, str], dict]:
  """The report's rows as ``<out>/curves.json`` records them, {(dataset, model, generator):
  row}."""
  recorded = report.read_json(out, CURVES_FILE)
  return {tuple(key.split("/")): row for key, row in recorded.items()}


def generator_comparison(table: dict, dataset: str, model: str, metrics=_MIXTURE_METRICS
                         ) -> str:
  """One line: the released generator's row minus the bias-free one's on each metric, paired
  by seed, at the last update at which every member of both rows was evaluated."""
  released, earlier = (table[dataset, model, g]["members"] for g in ("released", "bias_free"))
  seeds = sorted(set(released) & set(earlier))
  common = set.intersection(*({r["step"] for r in rows[m]} for rows in (released, earlier)
                              for m in seeds)) if seeds else set()
  if not common:
    return (f"- {dataset} {model}: no update at which every seed of both rows was evaluated "
            "yet.")
  step = max(common)
  at = lambda rows, m, key: next(r[key] for r in rows[m] if r["step"] == step)
  parts = []
  for key, scale, heading in metrics:
    difference = report.paired([at(released, m, key) * scale for m in seeds],
                               [at(earlier, m, key) * scale for m in seeds])
    parts.append(f"{heading} {difference.format('+.3g', '.2g')} "
                 f"({report.verdict(difference)})")
  return (f"- {dataset} {model} at {step:,} updates, n = {len(seeds)} seeds: "
          + "; ".join(parts) + ".")


def render(out: str) -> str:
  """``out/README.md`` from ``out/results.json`` and ``out/curves.json`` alone."""
  table = read_table(out)
  rows = report.read_json(out, "results.json")
  datasets = list(dict.fromkeys(r["dataset"] for r in rows))
  models = list(dict.fromkeys(r["model"] for r in rows))
  lines = ["# PacGAN's protocols, reproduced", "",
           "Regenerate with `make results PROTOCOL=pacgan` (resumable). Each row is the "
           "dataset's published set-up with the changes the row names. Mean ± standard error "
           "over seeds (ddof = 1; the seeds column is n); the published row (10 runs, at its budget) beside each of ours.", "",
           "- ring, grid (Lin et al. 2018, §5.1, Table 1, and their code): generator 4 × 400 "
           "BatchNorm ReLU, discriminator 3 maxout layers of 200 units × 5 pieces, Adam 1e-4 / "
           "β1 0.8, batch 100, simultaneous updates, a fixed training set of 100,000 points; "
           "2,500 samples from a fixed z, BatchNorm in inference mode. The energy-based rows' "
           "discriminator is the auto-encoder made of the same maxout layers (two encode, one "
           "and a linear layer decode), their margin chosen by the sweep in "
           "[margins.md](margins.md); BEGAN's and MAGAN's add a linear code between encoder "
           "and decoder (their controllers read its energies; its width, 2, chosen by the "
           "sweep in [codes.md](codes.md)), BEGAN halves its learning rates when 10,000 updates of "
           "M_global do not improve, MAGAN's epoch is 1,000 updates, 2 of them pre-training; the "
           "LS-GAN's loss is the auto-encoder's energy with a one-sided gradient penalty "
           "(its weight chosen in [penalties.md](penalties.md)).",
           "- stacked_mnist (Lin et al. 2018, §5.2, Table 2, after VEEGAN): the TensorFlow "
           "DCGAN, z uniform of 100, Adam 2e-4 / β1 0.5, batch 64, the generator updated twice "
           "per step, 128,000 fixed triples of MNIST digits; 26,000 samples, each channel read "
           "by an MNIST classifier.",
           "- stacked_digits: the stacked_mnist set-up on the embedded digits resized to "
           "28x28 (the same networks, 128,000 fixed triples, 100,000 updates), each channel "
           "read back at 8x8 by this package's digits classifier. No published "
           "row: Table 2's, on MNIST, are DCGAN 78.9 ± 6.46 modes (KL 4.50 ± 0.127) and "
           "PacDCGAN2-4 1,000 modes (KL 0.06-0.07).", ""]
  training = {d: PROTOCOLS[d].budget for (d, _, _), row in table.items()
              if updates(row) < PROTOCOLS[d].budget}
  if training:
    budgets = sorted(set(training.values()))
    goal = (f"target {budgets[0]:,} updates, the published budget" if len(budgets) == 1
            else "target: each dataset's published budget")
    lines += [f"**Still training** ({goal}): each row is its seeds' last "
              "evaluation so far.", ""]
  lines += ["\"At published\" is the first evaluated update at which our means of the first "
            "two metrics are both within two standard errors of the published means; \"(the "
            "last evaluation)\" marks a row that first meets them at the last update it has "
            "evaluated, so that whether it stays there is not measured yet.", ""]
  lines += ["The generator column says which generator produced each row: *released* is the "
            "one of PacGAN's released code, the protocol's default (a bias on the output "
            "layer, BatchNorm's population statistics updated with momentum 0.95); *bias-free "
            "(earlier)* is the one this project used before (no bias anywhere, momentum 0.9), "
            "kept, labelled, until its row is retrained with the released one. The updates "
            "column is each row's budget so far.", ""]
  comparisons = []
  for dataset in datasets:
    protocol = PROTOCOLS[dataset]
    metrics = protocol.metrics + (("recall", 1, "recall"), ("coverage", 1, "coverage"))
    body = []
    for model in models:
      keys = [k for k in table if k[:2] == (dataset, model)]
      pub = protocol.published.get(model)
      for key in keys:
        got = [r for r in rows if (r["dataset"], r["model"], r["generator"]) == key]
        if not got:
          continue
        cells = [report.mean_se(r[metric] * scale for r in got).format()
                 if all(metric in r for r in got) else "—" for metric, scale, _ in metrics]
        reached = "—"
        if pub is not None:
          step = first_step_at_published(table[key]["members"], pub, protocol.metrics)
          reached = "not yet" if step is None else f"{step:,}" + (
              " (the last evaluation)" if step == updates(table[key]) else "")
        hours = table[key]["hours_per_100k"]
        body.append([f"{model} (ours)", GENERATORS.get(key[2], key[2]),
                     f"{updates(table[key]):,}", len(got), *cells, reached,
                     "—" if hours is None else f"{hours:.2g}"])
      if pub is not None and keys:
        body.append([f"{model} (Lin et al. 2018)", "their code", f"{protocol.budget:,}", 10,
                     *[f"{m:g} ± {se:g}" for m, se in pub],
                     *["—"] * (len(metrics) - len(pub) + 2)])
      if (dataset, model, "released") in table and (dataset, model, "bias_free") in table:
        comparisons.append(generator_comparison(table, dataset, model, protocol.metrics))
    lines += [f"## {dataset} ({protocol.source})", ""]
    lines += report.table(["model", "generator", "updates", "seeds",
                           *(h for _, _, h in metrics), "at published",
                           "hours per 100k updates"], body)
    lines.append("")
  if comparisons:
    lines += ["The two generators at the same budget: the released one's scores minus the "
              "earlier one's, paired by seed, at the last update both rows evaluated (a "
              "verdict when the interval of two standard errors excludes zero):", ""]
    lines += [*comparisons, ""]
  lines += ["Hours per 100k updates: the wall time of the row's program (all its seeds at once) "
            "on this machine, the median of its logged windows (training, evaluation and "
            "checkpoints), measured while other jobs may have shared the machine; `make bench "
            "ARGS=\"--config toy_ring_gan --members 10\"` times the step alone against one "
            "seed's.", "", "![curves](curves.png)"]
  return report.page_text(lines)


def write_report(table: dict[tuple[str, str, str], dict], out: str) -> None:
  """``results.json`` (each member's last evaluation), ``curves.json`` (the rows as
  :func:`collect` reads them back), then ``README.md`` rendered from them, and ``curves.png``,
  in ``out``, from ``{(dataset, model, generator): row}`` (:func:`record`)."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  import numpy as np

  rows = rows_so_far(table)
  report.write_json(out, "results.json", rows)
  report.write_json(out, CURVES_FILE, {"/".join(key): row for key, row in table.items()},
                    indent=None)
  report.write_page(out, render)
  datasets = list(dict.fromkeys(r["dataset"] for r in rows))

  fig, axes = plt.subplots(len(datasets), 2, figsize=(10, 3.6 * len(datasets)), squeeze=False)
  for row_axes, dataset in zip(axes, datasets):
    protocol = PROTOCOLS[dataset]
    for ax, (metric, scale, heading) in zip(row_axes, protocol.metrics[:2]):
      for key in (k for k in table if k[0] == dataset):
        model, generator = key[1], key[2]
        logged = table[key]["members"]
        steps, stats = curve(logged, metric, scale)
        mean, se = np.array([m.mean for m in stats]), np.array([m.se for m in stats])
        # One colour per model in every panel (matplotlib's ten-colour cycle, one per row kind);
        # the earlier generator's rows dotted.
        earlier = generator == "bias_free"
        line, = ax.plot(steps, mean, marker="x" if earlier else "o", markersize=3,
                        ls=":" if earlier else "-",
                        label=f"{model} ({GENERATORS.get(generator, generator)})",
                        color=f"C{list(MODELS).index(model) % 10}")
        ax.errorbar(steps, mean, yerr=se, fmt="none", capsize=2, color=line.get_color())
        if model in protocol.published:
          ax.axhline(protocol.published[model][[k for k, _, _ in protocol.metrics].index(metric)][0],
                     ls="--", lw=0.8, color=line.get_color())
      ax.set_title(f"{dataset}: {heading} (dashed: Lin et al. 2018)", fontsize=10)
      ax.set_xlabel("update")
      ax.set_xlim(left=0)
      if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(os.path.join(out, "curves.png"), dpi=100)
  plt.close(fig)


def main(argv: list[str] | None = None) -> int:
  argv = sys.argv[1:] if argv is None else argv
  parser = argparse.ArgumentParser(prog="python -m ebgan_jax.studies.pacgan", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--steps", type=int, default=None,
                      help="updates per run (default: each dataset's published budget)")
  parser.add_argument("--seeds", type=int, default=10)
  parser.add_argument("--datasets", default="ring,grid")
  parser.add_argument("--models", default=",".join(DEFAULT_MODELS),
                      help=f"comma-separated, from {', '.join(MODELS)}")
  parser.add_argument("--out", default="results/pacgan")
  parser.add_argument("--workdir", default="runs/pacgan")
  parser.add_argument("--no_progress", action="store_true")
  parser.add_argument("--report", action="store_true",
                      help="write the report of the runs as they stand, without training")
  parser.add_argument("--sweep", choices=sorted(HELD_OUT_SWEEPS), default=None,
                      help="train a held-out design sweep (margin: the energy-based rows' "
                      "margin, margins.md; code: BEGAN's and MAGAN's code width, codes.md; "
                      "penalty: the LS-GAN's gradient penalty, penalties.md)")
  rest, overrides = split_overrides(argv)
  args = parser.parse_args(rest)
  cli.set_cpu_defaults()
  datasets = [d for d in args.datasets.split(",") if d]
  models = [m for m in args.models.split(",") if m]
  return cli.run(lambda: _main(args, datasets, models, overrides))


def _main(args, datasets: list[str], models: list[str], overrides) -> int:
  unknown = [m for m in models if m not in MODELS] + [d for d in datasets if d not in PROTOCOLS]
  bad_steps = args.steps is not None and args.steps <= 0
  if unknown or bad_steps or args.seeds <= 0:
    raise ValueError(f"unknown model or dataset {unknown}; models: {', '.join(MODELS)}; "
                     f"datasets: {', '.join(PROTOCOLS)}." if unknown
                     else "--steps and --seeds must be positive.")
  name = args.sweep
  if name:
    held_out = HELD_OUT_SWEEPS[name]
    other = [d for d in datasets if d not in held_out.values]
    if other:
      raise ValueError(f"--sweep {name} runs on {', '.join(held_out.values)}, not on "
                       f"{', '.join(other)}; pass e.g. --datasets {','.join(held_out.values)}.")
    chosen = held_out_sweep(name, datasets, args.workdir, args.out, overrides,
                            progress=not args.no_progress)
    if chosen is None:
      return cli.interrupted()
    print(open(os.path.join(args.out, held_out.report)).read())
    return cli.EXIT_OK
  if args.report:
    table = collect(args.workdir, args.out)
    if not table:
      raise ValueError(f"nothing trained yet in {args.workdir} and no report in {args.out}; "
                       "run without --report first.")
    write_report(table, args.out)
    print(open(os.path.join(args.out, "README.md")).read())
    return cli.EXIT_OK
  rows = run(datasets, models, args.seeds, args.steps, args.workdir, overrides,
             progress=not args.no_progress)
  if len(rows) < len(datasets) * len(models) * args.seeds:
    return cli.interrupted()
  # The report covers every row it already has and every row trained in the workdir, not only
  # the ones this command named, so training one more row does not drop the others.
  table = collect(args.workdir, args.out)
  write_report(table, args.out)
  print(open(os.path.join(args.out, "README.md")).read())
  return 0


if __name__ == "__main__":
  sys.exit(main())
