"""Negatives found by the argmax of an energy against negatives found by a generator.

  make evaluation-function ARGS="--parts argmax"
  python -m ebgan_jax.studies.evaluation_function --parts argmax [--seeds 5]

Hung-yi Lee's lecture calls the generator of an energy-based GAN "an intelligent way to find the
negative examples" that the argmax of the evaluation function would otherwise have to find. This
study trains the same energy network (EBGAN's auto-encoder, its margin loss, optimizer, batch
and number of updates) both ways, on PacGAN's ring and grid and on the embedded digits:

- **generator**: EBGAN-PT (Zhao et al. 2017), a generator trained to find low-energy points;
- **argmax of the energy**: :class:`~ebgan_jax.algorithms.langevin.LangevinEBM`, whose
  negatives are :data:`ARGMAX` ``["chain_steps"]`` Langevin steps down the energy (Du & Mordatch
  2019), from uniform noise or from a buffer of earlier negatives.

The Langevin step size, noise and chain start are chosen first, on validation seeds that are not
reported, by the rule written in :data:`ARGMAX` before any run was trained; the chosen setting
and EBGAN-PT then train the reported seeds 0 … ``--seeds`` - 1. Measured: PacGAN's mode
coverage and high-quality fraction on the mixtures, the digits classifier's scores and the
Fréchet distance on the digits, the training wall time, and the network evaluations each
negative costs; on the mixtures, the energy landscape of seed 0 at three points of training
with the data and the negatives drawn on it (``landscapes.png``).

Writes ``<out>/argmax.json`` and ``landscapes.png``; the section of the page is rendered by
:func:`section` (``make evaluation-function`` writes the page).
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from ebgan_jax import rundir
from ebgan_jax.studies import report

JSON = "argmax.json"
FIGURE = "landscapes.png"
DIGITS_FIGURE = {"EBGAN-PT": "digits_ebgan_pt.png", "EBM": "digits_langevin.png"}
# Fixed on 2026-12-06 before any of these runs was trained.
ARGMAX = {
    "fixed": "2026-12-06, before any of these runs was trained",
    "datasets": ["ring", "grid", "digits"],
    "chain_steps": 20,
    # Langevin x <- x - (eps/2) grad E + noise * sqrt(eps) * N(0, I).
    "step_size": [0.01, 0.1, 1.0, 10.0],
    "noise": [0.01, 0.1],
    # Where the chains start: uniform noise every step (short-run chains, Nijkamp et al. 2019),
    # or 95 % from a buffer of the last 10,000 negatives (Du & Mordatch 2019, §3.1).
    "starts": {"noise": [0, 0.0], "buffer": [10000, 0.95]},
    "validation_seeds": [100, 101],
    # The validation runs' budget, as a fraction of the reported runs' (the digits' 10,000
    # updates at 20 settings would take most of an hour).
    "validation_budget": {"ring": 1.0, "grid": 1.0, "digits": 0.2},
    "selection": "on the validation seeds only: on the mixtures the most modes covered, then "
                 "the most high-quality samples (means); on the digits the lowest Fréchet "
                 "distance (mean)",
}
LANDSCAPE_STAGES = (0.25, 0.5, 1.0)
MIXTURE_KEYS = ("modes_covered", "high_quality", "reverse_kl")
DIGITS_KEYS = ("classes_covered", "frechet_distance", "inception_score", "precision", "recall")


def generator_config(dataset: str):
  """EBGAN-PT: the small MLP recipe of ``configs.toy_config`` on the mixtures (PT weight 0.1, as
  in the replay study), ``digits_ebgan_pt`` on the digits."""
  from ebgan_jax import configs
  if dataset == "digits":
    return configs.load_config("digits_ebgan_pt")
  return configs.with_values(configs.toy_config(dataset, "ebgan"), pt_weight=0.1)


def langevin_config(dataset: str, step_size: float, noise: float, start: str):
  """The same energy network, loss and budget as :func:`generator_config`'s discriminator, its
  negatives found by Langevin chains."""
  from ebgan_jax import configs
  size, fraction = ARGMAX["starts"][start]
  if dataset == "digits":
    config = configs.load_config("digits_langevin")
  else:
    config = configs.toy_config(dataset, "langevin")  # chains over the plotted window
  return configs.with_values(config, **{
      "langevin.steps": ARGMAX["chain_steps"], "langevin.step_size": step_size,
      "langevin.noise": noise, "replay.size": size, "replay.fraction": fraction})


def _budget(config, fraction: float = 1.0):
  from ebgan_jax import configs
  steps = int(round(config.num_steps * fraction))
  configs.with_values(config, num_steps=steps, sample_every=steps, eval_every=steps,
                      checkpoint_every=max(1, steps // 2), log_every=max(1, steps // 10))
  configs.validate(config)
  return config


def settings() -> list[dict[str, Any]]:
  """The Langevin settings the selection compares, in a fixed order."""
  return [{"step_size": e, "noise": s, "start": start} for start in ARGMAX["starts"]
          for e in ARGMAX["step_size"] for s in ARGMAX["noise"]]


def slug(setting: dict) -> str:
  return f"{setting['start']}_e{setting['step_size']:g}_n{setting['noise']:g}"


def _keep(dataset: str, results: list[dict]) -> list[dict]:
  keys = DIGITS_KEYS if dataset == "digits" else MIXTURE_KEYS
  return [{"member": r["member"], **{k: r.get(k) for k in keys}} for r in results]


def _score(dataset: str, members: list[dict]) -> tuple:
  """The selection rule of :data:`ARGMAX` as a sort key (larger is better)."""
  import numpy as np
  mean = lambda k: float(np.mean([m[k] for m in members]))
  if dataset == "digits":
    fd = mean("frechet_distance")
    return (-fd if np.isfinite(fd) else -np.inf,)
  return (mean("modes_covered"), mean("high_quality"))


def select(workdir: str, dataset: str, progress: bool) -> list[dict] | None:
  """Every setting on the validation seeds; None when interrupted."""
  from ebgan_jax import sweep
  rows = []
  spec = {"seed": [str(s) for s in ARGMAX["validation_seeds"]]}
  for setting in settings():
    config = _budget(langevin_config(dataset, **setting),
                     ARGMAX["validation_budget"][dataset])
    results, seconds = sweep.run_sweep_timed(
        config, spec, os.path.join(workdir, "validation", dataset, slug(setting)), progress)
    if not results:
      return None
    rows.append({**setting, "steps": config.num_steps, "seconds": round(seconds, 1),
                 "members": _keep(dataset, results)})
  return rows


def chosen(dataset: str, validation: list[dict]) -> dict:
  best = max(validation, key=lambda r: _score(dataset, r["members"]))
  return {k: best[k] for k in ("step_size", "noise", "start")}


def landscapes(workdir: str, dataset: str, configs_by_model: dict, progress: bool
               ) -> dict | None:
  """Seed 0 of each model trained in stages; after each, its energy on a grid and its samples
  from the fixed evaluation noise (``workdir/landscape/<dataset>/<model>/stage_<step>.npz``)."""
  import numpy as np
  from ebgan_jax import algorithms, configs, pictures, train, trained
  from ebgan_jax.state import MIXTURE_SAMPLES, sample_noise
  out = {}
  for model, base in configs_by_model.items():
    run_dir = os.path.join(workdir, "landscape", dataset, model.replace(" ", "_"))
    stages = []
    for fraction in LANDSCAPE_STAGES:
      steps = int(round(base.num_steps * fraction))
      cache = os.path.join(run_dir, f"stage_{steps}.npz")
      if not os.path.exists(cache):
        config = configs.with_values(configs.from_saved(base.to_dict()), num_steps=steps,
                                     sample_every=steps, eval_every=steps,
                                     checkpoint_every=steps, seed=0)
        if train.train_and_evaluate(config, run_dir, progress=progress).get("interrupted"):
          return None
        run = trained.load(run_dir)
        lim = configs.toy_config(dataset, "langevin").langevin.init_scale  # the chains' window
        axis = np.linspace(-lim, lim, 100, dtype=np.float32)
        grid = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
        energy = pictures.make_energy_fn(run.discriminator,
                                         algorithms.make_algorithm(run.config))(
            run.state.d.params, run.state.d.batch_stats, grid)
        samples = run.sampler()(run.state, sample_noise(run.config, MIXTURE_SAMPLES))
        np.savez(cache + ".tmp.npz", energy=np.asarray(energy).reshape(100, 100),
                 samples=np.asarray(samples))
        os.replace(cache + ".tmp.npz", cache)
      with np.load(cache) as f:
        stages.append({"step": steps, "energy": f["energy"], "samples": f["samples"]})
    out[model] = stages
  return out


def figure(out: str, maps: dict[str, dict]) -> None:
  """The energy landscapes: a row per (dataset, model), a column per stage."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  import numpy as np
  from ebgan_jax import configs, data
  rows = [(d, m) for d in maps for m in maps[d]]
  cols = len(LANDSCAPE_STAGES)
  fig, axes = plt.subplots(len(rows), cols, figsize=(3.2 * cols, 3.1 * len(rows)),
                           squeeze=False)
  for r, (dataset, model) in enumerate(rows):
    modes = data.make_dataset(generator_config(dataset).data, batch_size=2, seed=0).mixture.modes
    lim = configs.toy_config(dataset, "langevin").langevin.init_scale  # the chains' window
    for c, stage in enumerate(maps[dataset][model]):
      ax = axes[r, c]
      ax.imshow(np.log1p(np.maximum(stage["energy"], 0)), origin="lower", cmap="viridis",
                extent=(-lim, lim, -lim, lim))
      s = stage["samples"]
      ax.scatter(s[:, 0], s[:, 1], s=1, c="white", alpha=0.5)
      ax.scatter(modes[:, 0], modes[:, 1], s=14, c="red", marker="x")
      ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xticks=[], yticks=[])
      ax.set_title(f"{dataset}, {model}, step {stage['step']:,}", fontsize=8)
  fig.suptitle("log(1 + energy), negatives (white) and modes (red), seed 0", fontsize=9)
  fig.tight_layout()
  os.makedirs(out, exist_ok=True)
  fig.savefig(os.path.join(out, FIGURE), dpi=90)
  plt.close(fig)


def study(workdir: str, out: str, seeds: int, progress: bool = True,
          datasets: list[str] | None = None) -> dict | None:
  """The whole comparison (resumable in ``workdir``); None when interrupted."""
  rows, maps = [], {}
  for dataset in datasets or ARGMAX["datasets"]:
    validation = select(workdir, dataset, progress)
    if validation is None:
      return None
    best = chosen(dataset, validation)
    models = {"EBGAN-PT (generator)": _budget(generator_config(dataset)),
              "EBM (Langevin)": _budget(langevin_config(dataset, **best))}
    reported = []
    for model, config in models.items():
      results, seconds = report.run_seeds(
          config, seeds, os.path.join(workdir, "reported", dataset, model.split(" ")[0]),
          progress)
      if not results:
        return None
      reported.append({"model": model, "steps": config.num_steps, "seconds": round(seconds, 1),
                       "evaluations_per_negative": _evaluations(config),
                       "members": _keep(dataset, results)})
    row = {"dataset": dataset, "validation": validation, "chosen": best,
           "reported": reported}
    if dataset == "digits":
      row["noise_reference"] = noise_reference(models["EBM (Langevin)"])
      for model in models:  # each model's samples, a row per reported seed
        short = model.split(" ")[0]
        shutil.copyfile(rundir.path(os.path.join(workdir, "reported", dataset, short),
                                    rundir.SAMPLES_FINAL), os.path.join(out, DIGITS_FIGURE[short]))
    rows.append(row)
    if dataset != "digits":
      found = landscapes(workdir, dataset, models, progress)
      if found is None:
        return None
      maps[dataset] = found
  if maps:
    figure(out, maps)
  return {"setup": ARGMAX, "seeds": seeds, "datasets": rows}


def noise_reference(config) -> dict[str, float]:
  """The digits protocol's scores of uniform noise on [-1, 1] (what the chains start from):
  the floor a sampler must beat."""
  import jax
  from ebgan_jax import data, evaluators
  dataset = data.make_dataset(config.data, batch_size=config.batch_size, seed=config.seed)
  evaluator = evaluators.Evaluator(config, dataset, progress=False)
  shape = tuple(dataset.shape)
  noise = lambda z: jax.random.uniform(jax.random.fold_in(jax.random.PRNGKey(0), z.shape[0]),
                                       (1, z.shape[0]) + shape, minval=-1.0, maxval=1.0)
  scores = evaluator.evaluate(noise)[0]
  return {k: scores[k] for k in DIGITS_KEYS}


def _evaluations(config) -> dict[str, int]:
  """The network passes one negative costs in a training step."""
  if config.algorithm == "langevin":
    k = config.langevin.steps
    return {"energy_forward": k, "energy_backward": k, "generator_forward": 0,
            "generator_backward": 0}
  return {"energy_forward": 0, "energy_backward": 0, "generator_forward": config.g_steps,
          "generator_backward": config.g_steps}


def section(results: dict) -> list[str]:
  """The page's section, from ``argmax.json`` alone."""
  setup, seeds = results["setup"], results["seeds"]
  lines = [
      "## Generating by the argmax of an energy, against a generator", "",
      "The lecture: the argmax that finds the negatives \"can be an issue\", and the generator "
      "is \"an intelligent way to find the negative examples\". The same energy network "
      "(EBGAN's auto-encoder, its margin loss, optimizer, batch and number of updates) is "
      "trained twice: once as EBGAN-PT's discriminator, its negatives a generator's samples; "
      f"once with its negatives found by {setup['chain_steps']} steps of Langevin dynamics "
      "down its own energy (`config.algorithm = \"langevin\"`, Du & Mordatch 2019), which "
      "also draws its samples. The Langevin settings were chosen on validation seeds "
      f"{', '.join(map(str, setup['validation_seeds']))}, {setup['selection']}, from step "
      f"sizes {setup['step_size']} × noise {setup['noise']} × chains started from noise or 95 % "
      "from a buffer of the last 10,000 negatives; rule, grid and seeds fixed on "
      f"{setup['fixed']}. Reported: seeds 0–{seeds - 1}, never used to choose. The "
      f"{report.MEAN_SE}; differences are paired on the seeds.", ""]
  verdicts = []
  for row in results["datasets"]:
    dataset, best = row["dataset"], row["chosen"]
    digits = dataset == "digits"
    gen, ebm = row["reported"]
    lines += [f"### {dataset}", "",
              f"Chosen: step size {best['step_size']:g}, noise {best['noise']:g}, chains from "
              f"{'a buffer (95 %)' if best['start'] == 'buffer' else 'noise'}. "
              f"{gen['steps']:,} updates of the energy network for both.", ""]
    keys = (("classes_covered", "classes", ".2f", 1), ("frechet_distance", "Fréchet distance",
            ".2f", 1), ("inception_score", "Inception-style score", ".2f", 1),
            ("precision", "precision", ".3f", 1)) if digits else (
            ("modes_covered", "modes", ".2f", 1), ("high_quality", "high quality %", ".1f", 100),
            ("reverse_kl", "reverse KL", ".3f", 1))
    table = []
    for r in (gen, ebm):
      ev = r["evaluations_per_negative"]
      cost = (f"{ev['energy_forward']} energy forward + {ev['energy_backward']} backward"
              if ev["energy_forward"] else f"{ev['generator_forward']} generator forward")
      table.append([r["model"]] + [report.mean_se([scale * m[k] for m in r["members"]]).format(
          fmt, fmt) for k, _, fmt, scale in keys] + [f"{r['seconds']:.0f}", cost])
    diff = ["EBM − EBGAN-PT (paired)"]
    for k, label, fmt, scale in keys:
      d = report.paired([scale * m[k] for m in ebm["members"]],
                        [scale * m[k] for m in gen["members"]])
      diff.append(f"{d.format('+' + fmt, fmt)} ({report.verdict(d)})")
      if report.verdict(d) in ("lower", "higher"):
        better = (report.verdict(d) == "lower") == (k in ("frechet_distance", "reverse_kl"))
        verdicts.append((dataset, label, "EBM (Langevin)" if better else "EBGAN-PT"))
    table.append(diff + [f"{ebm['seconds'] / max(gen['seconds'], 1e-9):.1f}× the time", "—"])
    if "noise_reference" in row:
      ref = row["noise_reference"]
      table.append(["uniform noise (the chains' start)"]
                   + [format(scale * ref[k], fmt) for k, _, fmt, scale in keys] + ["—", "—"])
    lines += report.table(["model"] + [label for _, label, _, _ in keys]
                          + [f"seconds, {seeds} seeds", "network passes per negative"], table)
    if digits:
      lines += [""] + [f"![{label} samples, one row per seed]({DIGITS_FIGURE[key]})"
                       for key, label in (("EBGAN-PT", "EBGAN-PT's"), ("EBM", "The EBM's"))]
    lines += ["", "<details><summary>The selection on the validation seeds</summary>", ""]
    sel_keys = keys[:2]
    lines += report.table(
        ["start", "step size", "noise"] + [label for _, label, _, _ in sel_keys]
        + ["updates"],
        ([v["start"], f"{v['step_size']:g}", f"{v['noise']:g}"]
         + [report.mean_se([scale * m[k] for m in v["members"]]).format(fmt, fmt)
            for k, _, fmt, scale in sel_keys] + [f"{v['steps']:,}"]
         for v in row["validation"]))
    lines += ["", "</details>", ""]
  said = []
  for row in results["datasets"]:
    mine = [(label, winner) for dataset, label, winner in verdicts if dataset == row["dataset"]]
    if not mine:
      said.append(f"on the {row['dataset']}, no difference on any measure")
      continue
    by = {}
    for label, winner in mine:
      by.setdefault(winner, []).append(label)
    measures = 4 if row["dataset"] == "digits" else 3
    said.append(f"on the {row['dataset']}, " + "; ".join(
        f"{w} better in {', '.join(v)}" for w, v in by.items())
        + (" (no difference in the others)" if len(mine) < measures else ""))
  ratios = [r["reported"][1]["seconds"] / max(r["reported"][0]["seconds"], 1e-9)
            for r in results["datasets"]]
  lines += [f"**Verdict.** Paired on {seeds} seeds (a difference counts when its interval of "
            f"two standard errors excludes zero): {'; '.join(said)}. Cost: each Langevin "
            f"negative takes {setup['chain_steps']} forward and backward passes of the energy "
            "network where a generator takes one forward pass of its own, usually larger, "
            f"network; training took {min(ratios):.1f}–{max(ratios):.1f}× EBGAN-PT's wall time "
            "(2 CPU cores, one session; the wall time includes the final evaluation). "
            + _reading(verdicts, [r["dataset"] for r in results["datasets"]])
            if ratios else "", ""]
  if any(r["dataset"] != "digits" for r in results["datasets"]):
    lines += [f"![energy landscapes]({FIGURE})", ""]
  return lines


def _reading(verdicts: list[tuple[str, str, str]], datasets: list[str]) -> str:
  """The verdict in the lecture's terms, chosen by which route won where."""
  ebm = {d for d, _, w in verdicts if w == "EBM (Langevin)"}
  gen = {d for d, _, w in verdicts if w == "EBGAN-PT"}
  if ebm and not gen:
    return (f"At the same number of energy-network updates, the negatives found by descending "
            f"the energy itself trained an energy at least as good as the generator's on every "
            f"data set here, and better on the {' and the '.join(d for d in datasets if d in ebm)}: "
            "on data this small (2 and 64 dimensions) the lecture's worry that the argmax "
            "\"can be an issue\" did not show, and the generator bought no quality for its cost.")
  if gen and not ebm:
    return ("The generator's negatives trained the better energy where marked: the lecture's "
            "\"intelligent way to find the negative examples\" paid for itself there.")
  if gen and ebm:
    return "Each route wins somewhere: neither is better on every data set."
  return "Neither route is better on any data set at this n."


def run(workdir: str, out: str, seeds: int, progress: bool = True,
        datasets: list[str] | None = None) -> dict | None:
  """:func:`study`, its JSON written to ``out``; None when interrupted."""
  results = study(workdir, out, seeds, progress, datasets)
  if results is not None:
    report.write_json(out, JSON, results)
  return results
