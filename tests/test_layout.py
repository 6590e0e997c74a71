"""The package's layout keeps its promises: old import paths work, commands share one module of
plumbing, and only the run-directory module spells the names of a run's files."""

import pathlib
import re

REPO = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = REPO / "ebgan_jax"

def _sources():
  return {p.relative_to(REPO).as_posix(): p.read_text() for p in sorted(PACKAGE.rglob("*.py"))}


def test_the_import_paths_users_hold_still_work():
  import ebgan_jax
  from ebgan_jax import losses, main, sweep
  assert ebgan_jax.pulling_away_term is losses.pulling_away_term and callable(ebgan_jax.load)
  assert callable(main.main) and callable(main.set_cpu_defaults) and callable(sweep.main)


def test_no_module_imports_a_command_module():
  """XLA defaults, exit codes and error lines live in ``cli``; no module imports ``main``,
  ``evaluate`` or ``sample`` (the sweep's functions are a library the studies build on)."""
  pattern = re.compile(r"from ebgan_jax(\.(main|evaluate|sample) import| import .*\b(main|evaluate|sample)\b)")
  offenders = [f"{name}: {line.strip()}" for name, text in _sources().items()
               for line in text.splitlines() if pattern.search(line)]
  assert not offenders, offenders


def test_only_rundir_spells_the_names_of_a_run_s_files():
  names = ("config.json", "metrics.jsonl", "summary.json", "samples_final.png",
           "loss_curves.png", "eval.json", "wall_time.json", "sweep_results")
  literal = re.compile(r"[\"']({})[\"']".format("|".join(re.escape(n) for n in names)))
  offenders = [f"{name}: {m.group(0)}" for name, text in _sources().items()
               if name != "ebgan_jax/rundir.py" for m in literal.finditer(text)]
  assert not offenders, offenders


def test_the_registries_hold_every_name():
  from ebgan_jax import algorithms, data, evaluators, models
  assert {"digits", "ring", "grid", "mnist", "celeb_a"} <= set(data.DATASETS)
  assert {"mlp", "pacgan", "dcgan", "began", "sbn"} <= set(models.ARCHITECTURES)
  assert {"ebgan", "gan", "began", "vae"} <= set(algorithms.REGISTRY)
  for name, spec in data.DATASETS.items():  # every protocol a dataset names exists
    assert spec.protocol is None or spec.protocol in evaluators.PROTOCOLS, name
