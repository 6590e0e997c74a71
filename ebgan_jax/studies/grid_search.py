"""``make grid-search``: the EBGAN paper's grid search (Zhao, Mathieu & LeCun 2017, §4.1,
Table 1, Figs 2–5), GAN against EBGAN and EBGAN-PT over the same networks; GAN-Adam is the
controlled comparison, GAN on EBGAN's optimizer (Adam 1e-3) over the same network settings.

  python -m ebgan_jax.studies.grid_search [--config experiments/digits_grid_search.py]
      [--subset 64 | --subset all] [--families GAN,EBGAN,EBGAN-PT,GAN-Adam]
      [--workdir runs/grid_search] [--out results/grid_search] [--config.<key>=<value> ...]

The grid (:data:`GRID`): generator depth and width (nLayerG, sizeG), discriminator depth and
width (nLayerD, sizeD) and dropout (dropoutD): 512 settings for EBGAN and for EBGAN-PT. The GAN
baselines also choose each network's optimizer and the learning rate (:data:`GAN_GRID`): 6,144
settings. ``--subset N`` trains a fixed random draw of N network settings (the same N for every
family; each GAN setting also draws its optimizers and learning rate), the default on a CPU
(64); an accelerator trains the whole grid unless told otherwise.

Settings that differ only in traced values (the learning rate) train together as one vmapped
program; the others one after another. Every finished setting is kept in ``--workdir`` (its
summary and 64 samples; its checkpoints are deleted unless ``--keep_checkpoints``), so
rerunning the same command resumes the search where it stopped.

The score is the paper's ``I' = E_x KL(p(y) || p(y|x))`` from the package's digits classifier
(``ebgan_jax.evaluators.digit_scores``; higher is better). A setting is *good* when its I' is at least
:data:`GOOD_SCORE` (three quarters of the real digits' 13.3 under the same classifier, fixed
before any setting was trained) and none of its updates was skipped as non-finite.

Writes ``<out>/README.md`` (per family: good fraction at :data:`THRESHOLDS`, classes covered,
unstable settings, the I' quartiles and best, wall time; the energy-based families against both
GANs, paired by network setting), ``<out>/results.json`` (one row per setting),
``<out>/histograms.png`` (the paper's Figs 2–4: I' histograms overall and split by each
hyper-parameter) and ``<out>/best_samples.png`` (Fig. 5: the best setting of each family).
"""

from __future__ import annotations

import argparse
import copy
import itertools
import os
import shutil
import sys
import textwrap
import time

import numpy as np

from ebgan_jax.configs import split_overrides
from ebgan_jax.cli import set_cpu_defaults
from ebgan_jax.studies import report

# The paper's Table 1. Dropout "true" is a rate of 0.5 (the paper gives no rate).
GRID = {
    "model.n_layers_g": (2, 3, 4, 5),
    "model.size_g": (400, 800, 1600, 3200),
    "model.n_layers_d": (2, 3, 4, 5),
    "model.size_d": (128, 256, 512, 1024),
    "model.dropout_d": (0.0, 0.5),
}
GAN_GRID = {
    "optimizer.name_d": ("adam", "sgd"),
    "optimizer.name_g": ("adam", "sgd"),
    "lr": (0.01, 0.001, 0.0001),
}
FAMILIES = {  # name: overrides of the base config
    # The paper's protocol: GAN also draws each network's optimizer and the learning rate.
    "GAN": {"algorithm": "gan"},
    "EBGAN": {"algorithm": "ebgan", "pt_weight": 0.0},
    "EBGAN-PT": {"algorithm": "ebgan", "pt_weight": 0.1},
    # The controlled comparison: GAN on EBGAN's optimizer (the base's Adam 1e-3) over the same
    # network settings, so that a difference in I' comes from the loss and not the optimizer.
    "GAN-Adam": {"algorithm": "gan"},
}
# The families that draw GAN_GRID's optimizers and learning rate on top of the network grid.
DRAWS_OPTIMIZERS = ("GAN",)
# What each family is, for the page.
FAMILY_NOTES = {
    "GAN": "the paper's protocol: optimizers and learning rate drawn per setting",
    "EBGAN": "Adam 1e-3",
    "EBGAN-PT": "Adam 1e-3, PT weight 0.1",
    "GAN-Adam": "controlled: Adam 1e-3, as EBGAN",
}
# The paper's names of the hyper-parameters, for the figures and tables.
PAPER_NAMES = {"model.n_layers_g": "nLayerG", "model.size_g": "sizeG",
               "model.n_layers_d": "nLayerD", "model.size_d": "sizeD",
               "model.dropout_d": "dropoutD", "optimizer.name_d": "optimD",
               "optimizer.name_g": "optimG", "lr": "lr"}
GOOD_SCORE = 10.0
# The good fraction is also reported at these thresholds, 0.6, 0.75 and 0.9 of the real digits'
# I' (13.3), fixed on THRESHOLDS_FIXED, before GAN-Adam trained; GAN's, EBGAN's and EBGAN-PT's
# settings had been trained and seen at 10 by then.
THRESHOLDS = (8.0, 10.0, 12.0)
THRESHOLDS_FIXED = "2026-12-07"
SUBSET_SEED = 0
PICTURE_SAMPLES = 64


def settings(family: str, subset: int | None, grid: dict = GRID, gan_grid: dict = GAN_GRID,
             seed: int = SUBSET_SEED) -> list[dict]:
  """The grid points ``family`` trains: ``[{key: value}]`` in a fixed order.

  ``subset=None`` is the whole grid (GAN: the network grid times ``gan_grid``). ``subset=N``
  draws N network settings without replacement with a fixed seed, the same N for every family;
  GAN's N settings each take the optimizers and learning rate drawn for that network setting.
  """
  networks = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
  extras = [dict(zip(gan_grid, values)) for values in itertools.product(*gan_grid.values())]
  if subset is None:
    if family not in DRAWS_OPTIMIZERS:
      return networks
    return [{**n, **e} for n in networks for e in extras]
  if not 0 < subset <= len(networks):
    raise ValueError(f"--subset must be between 1 and {len(networks)} (the network settings of "
                     f"the grid), got {subset}.")
  rng = np.random.default_rng(seed)
  chosen = sorted(rng.choice(len(networks), subset, replace=False))
  extra = rng.integers(len(extras), size=len(networks))  # drawn for every family alike
  if family not in DRAWS_OPTIMIZERS:
    return [networks[i] for i in chosen]
  return [{**networks[i], **extras[extra[i]]} for i in chosen]


def label(setting: dict) -> str:
  return ",".join(f"{k}={v}" for k, v in setting.items())


def member_config(base, family: str, setting: dict, overrides=()):
  """The config of one grid point: the base, the family's changes, the point, the user's."""
  from ebgan_jax import configs
  from ebgan_jax.sweep import ALIASES
  config = copy.deepcopy(base)
  items = [f"{k}={v}" for k, v in FAMILIES[family].items()]
  for key, value in setting.items():
    items += [f"{k}={value}" for k in ALIASES.get(key, (key,))]
  configs.apply_overrides(config, items + list(overrides))
  configs.validate(config)
  return config


def _finished(group_dir: str, num_steps: int) -> dict | None:
  """The stored summary of a group that trained to its end and was scored, else None."""
  from ebgan_jax import rundir
  try:
    done = rundir.load(os.path.join(group_dir, "grid_search.json"))
  except (OSError, ValueError):
    return None
  return done if done.get("steps", 0) >= num_steps else None


def _train_group(group, group_dir: str, keep_checkpoints: bool) -> dict | None:
  """Trains one program's settings (or resumes them) and scores them; None if interrupted."""
  from ebgan_jax import evaluators as evaluation
  from ebgan_jax import rundir, train, trained
  labels = [name for name, _ in group]
  t0 = time.perf_counter()
  summary = train.train_and_evaluate(group[0][1], group_dir, progress=False,
                                     members=[c for _, c in group], labels=labels)
  if summary.get("interrupted"):
    return None
  seconds = time.perf_counter() - t0
  run = trained.load(group_dir)
  samples = run.sample(max(PICTURE_SAMPLES, run.config.eval_samples))  # [members, n, ...]
  rows = []
  for row, images in zip(summary["members"], samples):
    if "ebgan_score" not in row:  # no digits protocol (MNIST): score the samples here
      row = {**row, **evaluation.digit_scores(images[:run.config.eval_samples])}
    rows.append(row)
  np.save(os.path.join(group_dir, "samples.npy"), samples[:, :PICTURE_SAMPLES])
  done = {"steps": summary["steps"], "seconds": round(seconds, 2), "members": rows}
  rundir.write_json_atomically(os.path.join(group_dir, "grid_search.json"), done, indent=None)
  if not keep_checkpoints:
    shutil.rmtree(rundir.path(group_dir, rundir.CHECKPOINTS), ignore_errors=True)
  return done


def run(base, families, subset: int | None, workdir: str, overrides=(), grid: dict = GRID,
        gan_grid: dict = GAN_GRID, keep_checkpoints: bool = False, progress: bool = True
        ) -> list[dict] | None:
  """Trains (or resumes) the search; one row per setting, or None when interrupted."""
  from tqdm.auto import tqdm

  from ebgan_jax.sweep import group_by_program
  plan = []
  for family in families:
    members = [(label(s), member_config(base, family, s, overrides))
               for s in settings(family, subset, grid, gan_grid)]
    for static, group in group_by_program(members).items():
      name = static.replace("model.", "").replace("optimizer.", "").replace("=", "_")
      plan.append((family, os.path.join(workdir, family, name.replace(",", "__") or "all"),
                   group))
  rows, bar = [], tqdm(total=sum(len(g) for _, _, g in plan), disable=not progress,
                       unit="setting", dynamic_ncols=True)
  try:
    for family, group_dir, group in plan:
      done = _finished(group_dir, base.num_steps)
      if done is None:
        done = _train_group(group, group_dir, keep_checkpoints)
        if done is None:
          print("interrupted; rerun the same command to resume the search.", flush=True)
          return None
      for i, ((name, _), row) in enumerate(zip(group, done["members"])):
        setting = dict(part.split("=", 1) for part in name.split(","))
        rows.append({"family": family, "setting": name, **setting, "workdir": group_dir,
                     "member_index": i, "seconds": round(done["seconds"] / len(group), 2),
                     **{k: row[k] for k in ("ebgan_score", "inception_score", "classes_covered",
                                            "frechet_distance", "skipped_steps") if k in row}})
      bar.update(len(group))
      bar.set_postfix({"family": family, "I'": f"{rows[-1]['ebgan_score']:.2f}"})
  finally:
    bar.close()
  return rows


def is_good(row: dict, threshold: float = GOOD_SCORE) -> bool:
  return (np.isfinite(row["ebgan_score"]) and row["ebgan_score"] >= threshold
          and not row.get("skipped_steps", 0))


def family_table(rows: list[dict]) -> list[dict]:
  """Per family: settings, good fraction (at :data:`GOOD_SCORE` and at each of
  :data:`THRESHOLDS`), all-classes fraction, unstable fraction, the I' quartiles and best, and
  seconds per setting (median) and in all."""
  out = []
  for family in dict.fromkeys(r["family"] for r in rows):
    mine = [r for r in rows if r["family"] == family]
    scores = np.array([r["ebgan_score"] for r in mine], np.float64)
    best = mine[int(np.nanargmax(scores))]
    out.append({"family": family, "settings": len(mine),
                "good": float(np.mean([is_good(r) for r in mine])),
                "good_at": {f"{t:g}": float(np.mean([is_good(r, t) for r in mine]))
                            for t in THRESHOLDS},
                "all_classes": float(np.mean([r.get("classes_covered", 0) == 10 for r in mine])),
                "unstable": float(np.mean([r.get("skipped_steps", 0) > 0 for r in mine])),
                "nonfinite": int(np.sum(~np.isfinite(scores))),
                "quartiles": [float(q) for q in np.nanpercentile(scores, [0, 25, 50, 75, 100])],
                "median_score": float(np.nanmedian(scores)), "best_score": float(np.nanmax(scores)),
                "best_setting": best["setting"],
                "seconds_median": float(np.median([r["seconds"] for r in mine])),
                "seconds_total": float(np.sum([r["seconds"] for r in mine]))})
  return out


def network(row: dict) -> tuple:
  """The row's network setting (GRID's keys), which pairs it with the other families' rows."""
  return tuple(str(row[k]) for k in GRID)


def paired_scores(rows: list[dict], family: str, against: str) -> tuple[report.Stats, int, int]:
  """I' of ``family`` minus ``against``'s on the network settings both trained: the paired
  difference, in how many settings ``family`` scored higher, and over how many."""
  theirs = {network(r): r["ebgan_score"] for r in rows if r["family"] == against}
  pairs = [(r["ebgan_score"], theirs[network(r)]) for r in rows
           if r["family"] == family and network(r) in theirs]
  a, b = (np.array([p[i] for p in pairs], np.float64) for i in (0, 1))
  return report.paired(a, b), int(np.sum(a > b)), len(pairs)


def _short(setting: str) -> str:
  return ", ".join(f"{PAPER_NAMES.get(k, k)}={v}" for k, v in
                   (part.split("=", 1) for part in setting.split(",")))


def real_digits_score() -> float:
  """The paper's I' of the 1,797 real digits under the package's classifier: the ceiling the
  generated samples' scores are read against."""
  from ebgan_jax import data, evaluators
  return float(evaluators.digit_scores(data.load_digits()[0])["ebgan_score"])


def setup(base, subset: int | None) -> dict:
  """What the page says of the search's set-up (``setup.json``), with the real digits' I'
  measured."""
  return {"base": base.name, "dataset": base.data.name, "num_steps": base.num_steps,
          "batch_size": base.batch_size, "margin": base.margin,
          "energy_norm": base.energy_norm, "energy_scale": base.energy_scale,
          "eval_samples": base.eval_samples, "pt_weight": FAMILIES["EBGAN-PT"]["pt_weight"],
          "subset": subset, "real_digits_ebgan_score": round(real_digits_score(), 3)}


def render(out: str) -> str:
  """``out/README.md`` from ``out/results.json`` and ``out/setup.json`` alone."""
  rows = report.read_json(out, "results.json")
  base = report.read_json(out, report.SETUP)
  table = family_table(rows)
  by = {t["family"]: t for t in table}
  subset = base["subset"]
  what = "the whole grid" if subset is None else (
      f"a fixed random subset of {subset} of the 512 network settings (seed {SUBSET_SEED}; "
      "each GAN setting with its drawn optimizers and learning rate)")
  lines = [
      "# The EBGAN paper's grid search (Table 1, Figs 2–5)", "",
      f"Regenerate with `make grid-search` (resumable; base config `{base['base']}`: "
      f"{base['dataset']}, {base['num_steps']} updates of batch {base['batch_size']}, margin "
      f"{base['margin']:g} on the {base['energy_norm']} energy × {base['energy_scale']:g}, "
      f"EBGAN-PT's PT weight {base['pt_weight']}). Trained: {what}.", "",
      "Score: the paper's I' = E_x KL(p(y) ‖ p(y|x)) from the package's digits classifier on "
      f"{base['eval_samples']} samples (the 1,797 real digits: "
      f"{base['real_digits_ebgan_score']:.1f}, measured). Good: I' at least a threshold and no "
      "update skipped as non-finite. The paper's claim: EBGAN and EBGAN-PT train well over "
      "more of the grid than GAN (its Figs 2–4). "
      f"With {base['num_steps']} updates per setting the scores say as much about how soon a "
      "setting starts to learn as about where it would end.", ""]
  thresholds = [f"{t:g}" for t in THRESHOLDS]
  lines += [f"Good fraction at three thresholds, I' ≥ {', '.join(thresholds)} (fixed on "
            f"{THRESHOLDS_FIXED}, before GAN-Adam trained; the other families had been seen at "
            f"{GOOD_SCORE:g}). GAN is the paper's protocol, GAN-Adam the controlled comparison: "
            "the same network settings as EBGAN, on EBGAN's optimizer.", ""]
  lines += report.table(
      ["family", "set-up", "settings", *(f"good (I' ≥ {t})" for t in thresholds),
       "all 10 classes", "unstable", "median I'", "best I'", "s per setting (median)",
       "s in all"],
      ([t["family"], FAMILY_NOTES.get(t["family"], ""), t["settings"],
        *(f"{100 * t['good_at'][k]:.0f} %" for k in thresholds),
        f"{100 * t['all_classes']:.0f} %", f"{100 * t['unstable']:.0f} %",
        f"{t['median_score']:.2f}", f"{t['best_score']:.2f}", f"{t['seconds_median']:.1f}",
        f"{t['seconds_total']:.0f}"] for t in table))
  total = sum(t["seconds_total"] for t in table)
  lines += ["", f"Wall time of the whole search: {total:.0f} s ({total / 60:.1f} min) of training "
            "and scoring, on the machine that ran it and while other jobs may have shared it "
            "(the seconds are for cost, not for comparing families).", "",
            "The distribution of I' per family (the histograms below draw it; non-finite scores "
            "are counted, not placed):", ""]
  lines += report.table(
      ["family", "min", "25 %", "median", "75 %", "max", "not finite"],
      ([t["family"], *(f"{q:.2f}" for q in t["quartiles"]), t["nonfinite"]] for t in table))
  lines += [""]
  comparisons = [(f, g) for f in ("EBGAN", "EBGAN-PT") for g in ("GAN-Adam", "GAN")
                 if f in by and g in by]
  if comparisons:
    lines += ["Paired by network setting (the same networks on both sides), I' of the "
              "energy-based family minus GAN's, mean ± standard error over the settings both "
              "trained; a verdict when the interval of two standard errors excludes zero:", ""]
    for family, against in comparisons:
      difference, wins, n = paired_scores(rows, family, against)
      lines.append(f"- {family} against {against}: {report.verdict(difference)} "
                   f"({difference.format('+.2f', '.2f')} over {n} settings; {family} scores "
                   f"higher in {wins} of {n}).")
    lines.append("")
  lines += ["Best setting of each family (`best_samples.png`, the paper's Fig. 5):", ""]
  lines += [f"- {t['family']}: {_short(t['best_setting'])} (I' {t['best_score']:.2f})" for t in table]
  lines += ["", "![I' histograms](histograms.png)", "", "![best samples](best_samples.png)"]
  return report.page_text(lines)


def write_report(rows: list[dict], out: str, subset: int | None, base) -> None:
  """``results.json`` and ``setup.json``, then ``README.md`` rendered from them, and the
  figures (the histograms of Figs 2–4 and the best samples of Fig. 5)."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  from ebgan_jax import pictures
  report.write_json(out, "results.json", rows)
  report.write_json(out, report.SETUP, setup(base, subset))
  report.write_page(out, render)
  table = family_table(rows)
  by = {t["family"]: t for t in table}

  # Figs 2–4: overall, then split by each hyper-parameter (GAN's own ones for GAN alone).
  families = list(by)
  keys = [k for k in list(GRID) + list(GAN_GRID) if any(k in r for r in rows)]
  scores = np.array([r["ebgan_score"] for r in rows], np.float64)
  bins = np.linspace(min(0.0, np.nanmin(scores)), max(GOOD_SCORE + 1, np.nanmax(scores)), 21)
  columns = max([1] + [len(set(r[k] for r in rows if k in r)) for k in keys])
  fig, axes = plt.subplots(1 + len(keys), columns, figsize=(3.0 * columns, 2.0 * (1 + len(keys))),
                           squeeze=False)

  def histogram(ax, subset_rows, title):
    for family in families:
      values = [r["ebgan_score"] for r in subset_rows if r["family"] == family]
      if values:
        ax.hist(values, bins=bins, histtype="step", lw=1.4, label=family)
    ax.axvline(GOOD_SCORE, ls=":", lw=0.8, color="k")
    ax.set_title(title, fontsize=8)
    ax.tick_params(labelsize=6)

  histogram(axes[0, 0], rows, "all settings")
  axes[0, 0].legend(fontsize=6)
  for ax in axes[0, 1:]:
    ax.axis("off")
  for row_axes, key in zip(axes[1:], keys):
    present = set(r[key] for r in rows if key in r)
    values = [str(v) for v in {**GRID, **GAN_GRID}[key] if str(v) in present]
    for ax, value in zip(row_axes, values):
      histogram(ax, [r for r in rows if r.get(key) == value], f"{PAPER_NAMES[key]} = {value}")
    for ax in row_axes[len(values):]:
      ax.axis("off")
  fig.supxlabel("I' (dotted: the good threshold)", fontsize=8)
  fig.tight_layout()
  fig.savefig(os.path.join(out, "histograms.png"), dpi=90)
  plt.close(fig)

  # Fig. 5: the best setting of each family.
  fig, axes = plt.subplots(1, len(table), figsize=(3.2 * len(table), 3.6), squeeze=False)
  for ax, t in zip(axes[0], table):
    best = next(r for r in rows if r["family"] == t["family"] and r["setting"] == t["best_setting"])
    images = np.load(os.path.join(best["workdir"], "samples.npy"))[best["member_index"]]
    grid = pictures.image_grid(images)
    ax.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid, cmap="gray", interpolation="nearest")
    setting = "\n".join(textwrap.wrap(_short(t["best_setting"]), 44))
    ax.set_title(f"{t['family']}: I' {t['best_score']:.2f}\n{setting}", fontsize=6)
    ax.axis("off")
  fig.tight_layout()
  fig.savefig(os.path.join(out, "best_samples.png"), dpi=110)
  plt.close(fig)


def _subset(text: str) -> int | None:
  return None if text == "all" else int(text)


def main(argv: list[str] | None = None) -> int:
  argv = sys.argv[1:] if argv is None else argv
  parser = argparse.ArgumentParser(prog="python -m ebgan_jax.studies.grid_search", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--config", default="experiments/digits_grid_search.py")
  parser.add_argument("--subset", default="",
                      help="N network settings, or 'all' (default: 64 on a CPU, all elsewhere)")
  parser.add_argument("--families", default=",".join(FAMILIES),
                      help=f"comma-separated, from {', '.join(FAMILIES)}")
  parser.add_argument("--workdir", default="runs/grid_search")
  parser.add_argument("--out", default="results/grid_search")
  parser.add_argument("--keep_checkpoints", action="store_true")
  parser.add_argument("--no_progress", action="store_true")
  rest, overrides = split_overrides(argv)
  args = parser.parse_args(rest)
  set_cpu_defaults()
  import jax

  from ebgan_jax import configs
  try:
    families = [f for f in args.families.split(",") if f]
    unknown = [f for f in families if f not in FAMILIES]
    if unknown or not families:
      raise ValueError(f"unknown families {unknown}; choose from {', '.join(FAMILIES)}.")
    try:
      subset = _subset(args.subset) if args.subset else (
          64 if jax.default_backend() == "cpu" else None)
    except ValueError:
      raise ValueError(f"--subset must be a number of settings or 'all', got {args.subset!r}."
                       ) from None
    base = configs.load_config(args.config)
    configs.apply_overrides(base, overrides)
    configs.validate(base)
    print(f"grid search on {base.data.name}: "
          + ("the whole grid" if subset is None else f"{subset} network settings")
          + f" x {', '.join(families)}; {base.num_steps} updates each.", flush=True)
    rows = run(base, families, subset, args.workdir, overrides,
               keep_checkpoints=args.keep_checkpoints, progress=not args.no_progress)
  except ValueError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  if rows is None:
    return 130
  write_report(rows, args.out, subset, base)
  from ebgan_jax import rundir
  for t in family_table(rows):
    print(rundir.dumps(t), flush=True)
  print(f"wrote {args.out}/README.md, results.json, histograms.png, best_samples.png", flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
