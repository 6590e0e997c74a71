"""The settings every experiment shares, and their validation.

An experiment file (``experiments/<name>.py``) starts from :func:`base_config` and changes what
its paper or protocol says. The returned ``ConfigDict`` is locked, so a misspelt key is an error.
"""

from __future__ import annotations

import importlib.util
import math
import os
import pathlib
from typing import Sequence

import ml_collections
from absl import flags as absl_flags
from ml_collections.config_flags import config_path, tuple_parser

from ebgan_jax.algorithms import REGISTRY

EXPERIMENTS_DIR = pathlib.Path(__file__).resolve().parent.parent / "experiments"


def base_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = ""  # filled by the loader with the experiment file's name
  c.seed = 0
  c.algorithm = "ebgan"
  c.num_steps = 1000
  c.batch_size = 64
  c.latent_dim = 64
  c.latent_dist = "uniform"  # "uniform" on [-1, 1] or "normal"
  # EBGAN (Zhao, Mathieu & LeCun 2017, §2).
  c.margin = 10.0
  c.pt_weight = 0.0  # > 0 gives EBGAN-PT
  c.energy_norm = "mse"  # "mse", "l2" or "l1"
  # A constant factor on the energy, so that margins mean what they mean at another image size:
  # the l2 energy of an image of P pixels scaled by sqrt(784 / P) is the l2 energy the same
  # per-pixel error has on 28x28 MNIST, where the paper's margins were set (3.5 for 8x8 digits).
  c.energy_scale = 1.0
  c.d_steps = 1  # discriminator updates per generator update
  c.g_steps = 1  # generator updates per step, on the same z (the DCGAN code of Stacked MNIST: 2)
  # The generator's update through the discriminator before (True: both updated at once from
  # the same batch, as PacGAN's code does) or after (False) the discriminator's update.
  c.simultaneous_updates = False
  # PacGAN's packing: the discriminator judges this many samples at once (1: no packing);
  # batch_size counts packed examples, so a batch holds batch_size * pack samples.
  c.pack = 1
  # Training steps per jitted call (a lax.scan over the dispatch's batches). Fewer calls means
  # less Python and fewer fresh buffers per step: the loop reuses its state in place.
  c.steps_per_dispatch = 1
  # Whether that scan is unrolled. Rolled loops around convolution gradients run about 100x
  # slower on XLA:CPU (jax-ml/jax#12868), so convolutional networks want True; a rolled loop
  # compiles in the time of one step whatever steps_per_dispatch is, which suits MLPs.
  c.unroll_dispatch = True
  # How a sweep runs its members: "vmap" (batched in one program), "unrolled" (one sub-program
  # per member in one program), "sequential" (one after another through the single-member
  # program: each member bit for bit its run alone) or "auto" (sequential on CPU, vmap on
  # accelerators; step.member_layout says why). The same numbers up to float rounding.
  c.member_layout = "auto"
  # The dtype the networks compute in during training: "float32", or "bfloat16" (parameters,
  # gradients, optimizer and losses stay float32; for GPUs and TPUs, slower on XLA:CPU). The
  # adversarial algorithms and the VAE use it.
  c.compute_dtype = "float32"

  # Each algorithm's own settings, in the block named after it (ebgan_jax/algorithms/).
  for name, algorithm in REGISTRY.items():
    if algorithm.config_block is not None:
      c[name] = ml_collections.ConfigDict(algorithm.config_block)

  # Experience replay for the adversarial algorithms: a fraction of each discriminator batch's
  # fakes drawn from a buffer of the last ``size`` generator outputs (0: off); for the Langevin
  # EBM, the fraction of its chains that continue from a buffer of its earlier negatives.
  c.replay = ml_collections.ConfigDict({"size": 0, "fraction": 0.0})

  c.optimizer = ml_collections.ConfigDict()
  c.optimizer.name = "adam"  # "adam", "adamax" or "sgd"
  # Another optimizer for one network ("" = optimizer.name): the EBGAN paper's grid search
  # chooses optimD and optimG separately for its GAN baselines.
  c.optimizer.name_g = ""
  c.optimizer.name_d = ""
  c.optimizer.lr_g = 1e-3
  c.optimizer.lr_d = 1e-3
  c.optimizer.b1 = 0.5
  c.optimizer.b2 = 0.999

  c.data = ml_collections.ConfigDict()
  c.data.name = "digits"  # a name in ebgan_jax.data.DATASETS
  c.data.image_size = 0  # 0: the dataset's own size
  c.data.data_dir = ""  # TFDS data_dir; "" uses TFDS_DATA_DIR or ~/tensorflow_datasets
  c.data.split = "train"
  c.data.binarize = False  # images thresholded at 0 to {-1, 1} (the VAE's binarised digits)
  # 2-D mixtures: 0 draws fresh samples every step; N walks a fixed set of N points drawn once
  # per seed (PacGAN trains on 100,000). Stacked MNIST and stacked digits: N fixed triples,
  # the same for every seed (the published 128,000), or fresh triples every step.
  c.data.train_points = 0
  # Examples a run is tested on and never trained on: for the digits, this many held out (a
  # fixed subset, the same for every seed and model); for TFDS datasets, a split ("test").
  c.data.holdout = 0
  c.data.eval_split = ""
  # The input pipeline (ebgan_jax/data/loader.py); neither changes what a batch holds. TFDS datasets
  # are read by this many worker processes (-1: half the host's cores, 0: the training thread);
  # the next ``prefetch`` dispatches are read and put on the devices while the step runs.
  c.data.workers = -1
  c.data.prefetch = 2

  c.model = ml_collections.ConfigDict()
  # "mlp", "pacgan", "small_conv", "dcgan", "dcgan_tf", "began", "pytorch_gan", "sbn";
  # "began": features_g and features_d are BEGAN's n, code_size its embedding h.
  c.model.arch = "mlp"
  c.model.n_layers_g = 3
  c.model.size_g = 800
  c.model.batch_norm_g = True
  c.model.output_activation = "tanh"
  c.model.n_layers_d = 2
  c.model.size_d = 256
  c.model.dropout_d = 0.0
  # The auto-encoder's code (0: no bottleneck): model.arch="mlp", the units of its last encoder
  # layer; "pacgan", a linear layer of that many units after the maxout encoder. Fewer units
  # than the data has keep it from learning the identity.
  c.model.bottleneck_d = 0
  c.model.activation_d = "relu"  # model.arch="mlp": the auto-encoder's "relu" or "elu" (BEGAN)
  c.model.features_g = 64
  c.model.features_d = 32
  c.model.code_size = 64
  # How upsampling layers (nearest x2 + conv, and stride-2 transposed convolutions) are
  # computed: "subpixel" on the low-resolution input (fast on XLA:CPU), or "resize" in their
  # plain form; the same function either way (models/layers.py).
  c.model.upsample = "subpixel"
  c.model.maxout_pieces = 5  # model.arch="pacgan": pieces per maxout unit
  # model.arch="pacgan": the generator of PacGAN's released code ("released": a bias on the
  # output layer, BatchNorm momentum 0.95) or this project's earlier one ("bias_free").
  c.model.pacgan_generator = "released"
  c.model.sbn_sizes = (64, 32, 16)  # model.arch="sbn": binary layers h_1 (bottom) to h_L
  # The Ladder Network of algorithm="ln" / "ebgan_ln": hidden widths and the classes, and the
  # std of the corrupted path's Gaussian noise.
  c.model.ladder_sizes = (1000, 500, 250, 250, 250, 10)
  c.model.ladder_noise = 0.3
  # model.arch="superres" (algorithm="superres"): the upscaling factor, the residual blocks
  # of the LR-to-HR network (features_g wide), and its noise channels (0: deterministic).
  c.model.scale = 4
  c.model.blocks = 4
  c.model.noise = 0
  # what it predicts: "image" (the HR image), "statistics" (the HR image's scattering
  # statistics, for superres.loss="stats") or "features" (the residual of the statistics of a
  # trained network's features, superres.features="cnn").
  c.model.outputs = "image"

  # Checkpoints (orbax) in <workdir>/checkpoints; rerunning a command resumes from the latest.
  c.checkpoint_every = 1000
  c.keep_checkpoints = 3
  c.async_checkpoints = True
  # A non-finite loss, gradient or parameter: "stop" (the last good checkpoint stays intact) or
  # "skip" (the update is not applied and is counted in the metric skipped_steps). Under "skip",
  # a run in which no update was applied for max_consecutive_skips steps stops all the same.
  c.on_nonfinite = "stop"
  c.max_consecutive_skips = 200

  # Evaluation metrics (ebgan_jax.evaluators) every eval_every steps (0: only at the end), on
  # eval_samples samples; the 2-D mixtures use 2,500 and stacked digits 26,000 (the protocols).
  c.eval_every = 0
  c.eval_samples = 2000
  # FID/KID on natural images (TFDS datasets) need the standard Inception-v3 weights, which
  # cannot be downloaded here: the path to pytorch-fid's pt_inception-2015-12-05-6726825d.pth
  # or its .npz conversion (docs/eval.md). Empty: $EBGAN_JAX_INCEPTION_WEIGHTS, else skipped.
  c.inception_weights = ""

  c.log_every = 50
  c.sample_every = 500
  c.num_samples = 64
  return c


# EBGAN's margin on PacGAN's set-up, per mixture (on the mean squared reconstruction error): the
# choice of the sweep ``python -m ebgan_jax.studies.pacgan --sweep margin`` (results/pacgan/margins.md).
PACGAN_MARGINS = {"ring": 0.1, "grid": 0.1}


def pacgan_config(mixture: str, algorithm: str = "gan", pack: int = 1) -> ml_collections.ConfigDict:
  """PacGAN's 2-D protocol (Lin et al. 2018, §5.1; their released code): a 4 x 400 BatchNorm
  ReLU generator on 2-D normal noise (a bias on its output layer only, BatchNorm momentum
  0.95), a discriminator of three maxout layers of 200 units with 5 pieces, Adam 1e-4 with
  beta1 0.8, batches of 100 packed examples, G and D updated simultaneously from the same
  batch, a fixed training set of 100,000 points, 400 epochs of 1,000 updates. Evaluated on
  2,500 samples from fixed noise, BatchNorm in inference mode, every 10,000 updates (the curves)
  and at the end. For EBGAN, the discriminator is the auto-encoder built from the same maxout
  layers and the margin is ``PACGAN_MARGINS``."""
  c = base_config()
  c.algorithm, c.pack = algorithm, pack
  c.margin = PACGAN_MARGINS[mixture]  # EBGAN's; the other algorithms do not read it
  c.data.name, c.data.train_points = mixture, 100000
  c.latent_dim, c.latent_dist = 2, "normal"
  c.model.arch = "pacgan"
  c.model.n_layers_g, c.model.size_g = 4, 400
  c.model.n_layers_d, c.model.size_d, c.model.maxout_pieces = 3, 200, 5
  c.optimizer.lr_g = c.optimizer.lr_d = 1e-4
  c.optimizer.b1 = 0.8
  c.batch_size, c.num_steps, c.simultaneous_updates = 100, 400000, True
  c.log_every, c.eval_every, c.sample_every = 1000, 10000, 50000
  c.checkpoint_every = 10000
  return c


def stacked_mnist_config(algorithm: str = "gan", pack: int = 1) -> ml_collections.ConfigDict:
  """VEEGAN's Stacked-MNIST set-up as PacGAN reruns it (Srivastava et al. 2017, §5.2; Lin et al.
  2018, §5.2; their released code): 128,000 fixed triples of MNIST digits, the TensorFlow DCGAN
  (``model.arch="dcgan_tf"``, 64 filters), z uniform of dimension 100, Adam 2e-4 with beta1
  0.5, batches of 64 packed examples, the generator updated twice per step, 50 epochs (100,000
  updates). Scored on 26,000 samples by the MNIST classifier (modes out of 1,000, KL to
  uniform), every 10,000 updates and at the end."""
  c = base_config()
  c.algorithm, c.pack = algorithm, pack
  c.data.name, c.data.train_points = "stacked_mnist", 128000
  c.latent_dim, c.latent_dist = 100, "uniform"
  c.model.arch = "dcgan_tf"
  c.model.features_g = c.model.features_d = 64
  c.optimizer.lr_g = c.optimizer.lr_d = 2e-4
  c.optimizer.b1 = 0.5
  c.batch_size, c.num_steps, c.g_steps = 64, 100000, 2
  c.log_every, c.eval_every, c.sample_every, c.checkpoint_every = 500, 10000, 10000, 5000
  return c


def stacked_digits_config(algorithm: str = "gan", pack: int = 1) -> ml_collections.ConfigDict:
  """:func:`stacked_mnist_config` on the embedded stacked digits (1,000 modes), resized to
  MNIST's 28x28 so that the networks are the published ones layer for layer: the same
  optimizer, batch, 128,000 fixed triples and budget, scored by this package's digits
  classifier (which reads the samples back at 8x8) instead of the MNIST one; runs without a
  prepared dataset."""
  c = stacked_mnist_config(algorithm, pack)
  c.data.name, c.data.image_size = "stacked_digits", 28
  return c


def toy_config(mixture: str, algorithm: str) -> ml_collections.ConfigDict:
  """The shared settings of the 2-D mixture experiments (``ring`` or ``grid``): MLP networks
  with a linear generator output, Gaussian noise, fresh samples every step: a short budget for
  a quick look and for ``make results`` (the mixtures' experiments are PacGAN's set-up)."""
  c = base_config()
  c.name = f"toy_{mixture}_mlp"  # an experiment file built on it gets its own name
  c.algorithm = algorithm
  c.data.name = mixture
  c.model.arch = "mlp"
  c.model.output_activation = "none"
  c.latent_dim, c.latent_dist = 16, "normal"
  if mixture == "ring":
    c.model.n_layers_g, c.model.size_g, c.model.n_layers_d, c.model.size_d = 3, 128, 2, 128
    c.num_steps, c.batch_size, c.margin = 2000, 128, 0.5
  else:
    c.model.n_layers_g, c.model.size_g, c.model.n_layers_d, c.model.size_d = 4, 256, 2, 256
    c.num_steps, c.batch_size, c.margin = 5000, 256, 2.0
  if algorithm == "langevin":
    # The chains start from uniform noise over the plotted window (1.5 times the farthest
    # mode, plus 0.5) and stay in it.
    c.latent_dim, c.latent_dist = 2, "uniform"
    c.langevin.init_scale = c.langevin.clip = 2.0 if mixture == "ring" else 6.5
  c.sample_every = 1000
  return c


# Values that the training state carries (the controller, the optimizers' learning rates):
# traced inputs of the step, so a sweep over them shares one program, and a resumed run keeps
# the checkpoint's values.
def state_keys() -> tuple[str, ...]:
  """The keys whose values the training state carries, for every registered algorithm."""
  return ("margin", "pt_weight", "optimizer.lr_g", "optimizer.lr_d") + tuple(
      key for algorithm in REGISTRY.values() for key in algorithm.state_keys)


# Values a resumed run may change freely: how long it trains and when it logs, samples,
# evaluates and checkpoints. Changing any other key (but :func:`state_keys`, which the checkpoint keeps)
# would make the resumed run another run, so resuming refuses it.
RESUMABLE_KEYS = ("num_steps", "log_every", "sample_every", "num_samples", "checkpoint_every",
                  "keep_checkpoints", "async_checkpoints", "eval_every", "eval_samples",
                  "inception_weights", "on_nonfinite", "max_consecutive_skips",
                  "steps_per_dispatch", "unroll_dispatch", "member_layout", "data.data_dir", "data.workers",
                  "data.prefetch")


def flatten(tree: dict, prefix: str = "") -> dict[str, object]:
  """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
  out = {}
  for key, value in tree.items():
    if isinstance(value, (dict, ml_collections.ConfigDict)):
      out.update(flatten(dict(value), f"{prefix}{key}."))
    else:
      out[f"{prefix}{key}"] = value
  return out


def _same(a, b) -> bool:
  if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
    return a == b or (math.isfinite(a) and math.isfinite(b) and math.isclose(a, b, rel_tol=1e-9))
  if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
    return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
  return a == b


def changed_keys(before: dict, after: dict) -> list[str]:
  """The dotted keys whose values differ between two configs (as dicts), sorted; a key only
  one of them has (added by a newer version of the package) is not compared."""
  old, new = flatten(before), flatten(after)
  return [key for key in sorted(set(old) & set(new)) if not _same(old[key], new[key])]


def resume_check(before: dict, config: ml_collections.ConfigDict) -> list[str]:
  """Compares the config a run started with (``before``, as in its ``config.json``) with the
  one it is resumed with. Raises a one-line ``ValueError`` naming the first key whose change
  would alter the run, with its old and new values; returns the keys of :func:`state_keys`
  that differ (the checkpoint's values are kept)."""
  old, new = flatten(before), flatten(config.to_dict())
  kept = []
  for key in changed_keys(before, config.to_dict()):
    if key in RESUMABLE_KEYS or key == "name":
      continue
    if key in state_keys():
      kept.append(key)
      continue
    raise ValueError(f"resuming: {key} was {old[key]!r} when the run started and is "
                     f"{new[key]!r} now; that would be another run: use a new --workdir (or "
                     f"resume with {key}={old[key]!r}).")
  return kept


def in_force(before: dict, config: ml_collections.ConfigDict) -> dict:
  """The config a resumed run actually runs with: what it started with, and the
  ``RESUMABLE_KEYS`` of ``config``."""
  merged = config.to_dict()
  flat_old = flatten(before)
  for key in flatten(merged):
    if key in flat_old and key not in RESUMABLE_KEYS:
      *path, last = key.split(".")
      node = merged
      for part in path:
        node = node[part]
      node[last] = flat_old[key]
  return merged


def from_saved(settings: dict) -> ml_collections.ConfigDict:
  """A config as a run saved it, with the keys added to the package since then at their
  defaults (which reproduce what the run did without them)."""
  def merge(into: dict, values: dict) -> None:
    for key, value in values.items():
      if isinstance(value, dict) and isinstance(into.get(key), dict):
        merge(into[key], value)
      else:
        into[key] = value
  merged = base_config().to_dict()
  merge(merged, settings)
  return ml_collections.ConfigDict(merged)


def get_key(config: ml_collections.ConfigDict, dotted: str):
  """``config["a"]["b"]`` for ``"a.b"``, or ``None`` when absent."""
  node = config
  for part in dotted.split("."):
    if not isinstance(node, ml_collections.ConfigDict) or part not in node:
      return None
    node = node[part]
  return node


def load_config(name_or_path: str) -> ml_collections.ConfigDict:
  """Loads ``experiments/<name>.py`` (or a path to such a file) and locks it."""
  path = pathlib.Path(name_or_path)
  if path.suffix != ".py":
    if path.is_file():
      raise ValueError(f"{path} is not an experiment file: --config takes the name of an "
                       "experiment, or the path of a .py file that defines get_config().")
    path = EXPERIMENTS_DIR / f"{name_or_path}.py"
  if not path.is_file():
    known = ", ".join(available_experiments())
    raise ValueError(f"unknown experiment {name_or_path!r}: no file {path}. Known: {known}.")
  spec = importlib.util.spec_from_file_location(f"experiments.{path.stem}", path)
  module = importlib.util.module_from_spec(spec)
  try:
    spec.loader.exec_module(module)
  except SyntaxError as e:
    raise ValueError(f"{path}, line {e.lineno}: {e.msg}; fix the experiment file.") from None
  except Exception as e:  # noqa: BLE001 - any error of the user's file becomes one line
    raise ValueError(f"{path} raised {type(e).__name__}: {e}; fix the experiment "
                     "file.") from None
  if not callable(getattr(module, "get_config", None)):
    raise ValueError(f"{path} defines no get_config(); an experiment file returns its "
                     "ConfigDict from get_config() (see experiments/digits_ebgan_pt.py).")
  try:
    config = module.get_config()
  except Exception as e:  # noqa: BLE001
    raise ValueError(f"get_config() in {path} raised {type(e).__name__}: {e}; fix the "
                     "experiment file.") from None
  if not isinstance(config, ml_collections.ConfigDict):
    raise ValueError(f"get_config() in {path} returned {type(config).__name__}, not an "
                     "ml_collections.ConfigDict; start from ebgan_jax.configs.base_config().")
  missing = sorted(set(flatten(base_config().to_dict())) - set(flatten(config.to_dict())))
  if missing:
    raise ValueError(f"get_config() in {path} has no {missing[0]!r}"
                     + (f" (and {len(missing) - 1} other keys)" if len(missing) > 1 else "")
                     + "; start from ebgan_jax.configs.base_config() and change what the "
                     "experiment needs.")
  with config.unlocked():
    config.name = path.stem
  config.lock()
  return config


def with_values(config: ml_collections.ConfigDict, **values) -> ml_collections.ConfigDict:
  """``config`` with dotted keys set to Python values (``**{"model.size_g": 32}``), in place."""
  with config.unlocked():
    for key, value in values.items():
      *path, last = key.split(".")
      node = config
      for part in path:
        node = node[part]
      if last not in node:
        raise ValueError(f"unknown config key {key!r} for experiment {config.name!r}.")
      node[last] = value
  return config


def available_experiments() -> list[str]:
  return sorted(p.stem for p in EXPERIMENTS_DIR.glob("*.py") if not p.stem.startswith("_"))


def _parse_value(text: str, current):
  """``text`` as the type of ``current``, with the parsers ``ml_collections.config_flags`` uses
  for ``--config.key=value`` flags (absl's, and its tuple parser)."""
  if isinstance(current, bool):
    parser = absl_flags.BooleanParser()
  elif isinstance(current, int):
    parser = absl_flags.IntegerParser()
  elif isinstance(current, float):
    parser = absl_flags.FloatParser()
  elif isinstance(current, tuple):
    parser = tuple_parser.TupleParser()
  else:
    return text
  try:
    return parser.parse(text)
  except ValueError as e:
    reason = e.args[0] if len(e.args) > 1 else str(e)  # absl's ("message", value) pairs
    raise ValueError(reason if repr(text) in reason else f"{reason}: {text!r}") from None


def split_overrides(argv: Sequence[str]) -> tuple[list[str], list[str]]:
  """Separates ``--config.key=value`` flags (returned as ``key=value``) from the others."""
  prefix = "--config."
  return ([a for a in argv if not a.startswith(prefix)],
          [a[len(prefix):] for a in argv if a.startswith(prefix)])


def apply_overrides(config: ml_collections.ConfigDict, overrides: Sequence[str]) -> None:
  """Applies ``key.sub=value`` strings (the ``--config.key.sub=value`` flags), typed like the
  current value, through ``ml_collections``' config paths. An unknown key or a badly typed
  value is a one-line ``ValueError``."""
  for item in overrides:
    key, sep, text = item.partition("=")
    if not sep:
      raise ValueError(f"override {item!r} must look like key=value, e.g. num_steps=200.")
    try:
      current = config_path.get_value(key, config)
    except (KeyError, AttributeError, IndexError, ValueError):
      raise ValueError(_unknown_key(config, key)) from None
    if isinstance(current, ml_collections.ConfigDict):
      raise ValueError(f"config key {key!r} is a block; set one of its keys, e.g. "
                       f"{key}.{next(iter(current.keys()), 'name')}=....")
    try:
      value = _parse_value(text, current)
    except ValueError as e:
      raise ValueError(f"bad value for config key {key!r}: {e}.") from None
    config_path.set_value(key, config, value)


def _unknown_key(config: ml_collections.ConfigDict, key: str) -> str:
  """The one line for an unknown key: the valid keys where the path stops matching."""
  node, parts = config, key.split(".")
  for depth, part in enumerate(parts):
    if not isinstance(node, ml_collections.ConfigDict) or part not in node:
      prefix = ".".join(parts[:depth])
      options = ", ".join(sorted(node.keys())) if isinstance(node, ml_collections.ConfigDict) else ""
      where = f" under {prefix!r}" if prefix else ""
      return (f"unknown config key {key!r} for experiment {config.name!r}; "
              f"valid keys{where}: {options}.")
    node = node[part]
  return f"unknown config key {key!r} for experiment {config.name!r}."


_POSITIVE = ("energy_scale", "batch_size", "num_steps", "latent_dim", "d_steps", "g_steps", "steps_per_dispatch", "pack",
             "log_every", "sample_every", "num_samples", "checkpoint_every", "keep_checkpoints",
             "eval_samples", "max_consecutive_skips")
_NON_NEGATIVE = ("margin", "pt_weight", "eval_every", "seed", "data.image_size",
                 "data.train_points", "data.holdout", "data.prefetch", "model.bottleneck_d")
_FINITE = ("optimizer.b1", "optimizer.b2", "energy_scale")


# jax.random.PRNGKey takes a 32-bit seed and overflows past it.
SEED_LIMIT = 2**32


def validate(config: ml_collections.ConfigDict) -> None:
  """One-line ``ValueError`` for values that cannot be trained with, saying how to fix them."""
  from ebgan_jax import data
  dataset = data.spec(config.data.name)  # an unknown name is a one-line error here
  for key in state_keys() + _FINITE:  # NaN passes every comparison below unnoticed
    value = get_key(config, key)
    if value is not None and not math.isfinite(value):
      raise ValueError(f"config.{key} must be a finite number, got {value}.")
  for key in _POSITIVE:
    if config[key] <= 0:
      raise ValueError(f"config.{key} must be positive, got {config[key]}; "
                       f"pass e.g. --config.{key}={max(1, abs(config[key]))}.")
  for key in _NON_NEGATIVE:
    value = get_key(config, key)
    if value < 0:
      raise ValueError(f"config.{key} must be >= 0, got {value}; "
                       f"pass e.g. --config.{key}={abs(value)}.")
  if config.seed >= SEED_LIMIT:
    raise ValueError(f"config.seed must be below {SEED_LIMIT}, the range of jax.random's seeds; "
                     f"got {config.seed}, pass e.g. --config.seed={config.seed % SEED_LIMIT}.")
  if config.data.get("workers", 0) < -1:
    raise ValueError(f"config.data.workers must be -1 (from the host's cores), 0 (the training "
                     f"thread) or a number of processes, got {config.data.workers}.")
  for key in ("lr_g", "lr_d"):
    if config.optimizer[key] <= 0:
      raise ValueError(f"config.optimizer.{key} must be positive, got {config.optimizer[key]}; "
                       f"pass e.g. --config.optimizer.{key}={abs(config.optimizer[key]) or 1e-3}.")
  choices = {"energy_norm": ("mse", "l2", "l1"), "latent_dist": ("uniform", "normal"),
             "member_layout": ("auto", "vmap", "unrolled", "sequential"),
             "compute_dtype": ("float32", "bfloat16"),
             "algorithm": tuple(REGISTRY), "on_nonfinite": ("stop", "skip")}
  for key, allowed in choices.items():
    if config[key] not in allowed:
      raise ValueError(f"config.{key} must be one of {', '.join(allowed)}; got {config[key]!r}.")
  from ebgan_jax.evaluators.inception import resolve_weights
  weights = resolve_weights(config.get("inception_weights"))
  if weights and not os.path.isfile(os.path.expanduser(weights)):
    raise ValueError(f"Inception weights file {weights} does not exist; pass the path of "
                     "pt_inception-2015-12-05-6726825d.pth (docs/eval.md) or leave "
                     "config.inception_weights empty to skip FID/KID.")
  for key, allowed in (("name", ("adam", "adamax", "sgd")),
                       ("name_g", ("", "adam", "adamax", "sgd")),
                       ("name_d", ("", "adam", "adamax", "sgd"))):
    if config.optimizer[key] not in allowed:
      raise ValueError(f"config.optimizer.{key} must be {' or '.join(map(repr, allowed))}, got "
                       f"{config.optimizer[key]!r}.")
  if config.model.pacgan_generator not in ("released", "bias_free"):
    raise ValueError(f"config.model.pacgan_generator must be 'released' or 'bias_free', got "
                     f"{config.model.pacgan_generator!r}.")
  if config.model.activation_d not in ("relu", "elu"):
    raise ValueError(f"config.model.activation_d must be 'relu' or 'elu', got "
                     f"{config.model.activation_d!r}.")
  if config.data.holdout and config.data.name != "digits":
    fix = ("its test split: --config.data.eval_split=test" if dataset.tfds
           else "no held-out set")
    raise ValueError(f"config.data.holdout holds out digits; use --config.data.holdout=0 for "
                     f"{config.data.name!r} ({fix}).")
  if config.data.name == "digits" and config.data.holdout > 1797 - config.batch_size:
    raise ValueError(f"config.data.holdout={config.data.holdout} leaves fewer than "
                     f"config.batch_size={config.batch_size} of the 1,797 digits to train on.")
  if config.data.eval_split and not dataset.tfds:
    raise ValueError(f"config.data.eval_split names a TFDS split; for {config.data.name!r} use "
                     "--config.data.holdout=N (digits) or leave it empty.")
  REGISTRY[config.algorithm].validate(config)
  if config.num_steps % config.steps_per_dispatch:
    raise ValueError(f"config.num_steps={config.num_steps} must be a multiple of "
                     f"config.steps_per_dispatch={config.steps_per_dispatch}.")
  if config.simultaneous_updates and config.d_steps != 1:
    raise ValueError(f"config.simultaneous_updates needs config.d_steps=1, got "
                     f"{config.d_steps}.")
  if config.replay.size < 0 or not 0.0 <= config.replay.fraction <= 1.0:
    raise ValueError(f"config.replay.size must be >= 0 and config.replay.fraction in [0, 1], "
                     f"got {config.replay.size} and {config.replay.fraction}.")
  if config.replay.size and config.replay.fraction:
    from ebgan_jax.algorithms.base import Adversarial
    if not issubclass(REGISTRY[config.algorithm], Adversarial):
      raise ValueError(f"config.replay replays a generator's outputs to its discriminator; "
                       f"{config.algorithm!r} has none: leave config.replay.size at 0.")
  elif config.replay.size or config.replay.fraction:
    raise ValueError(f"config.replay needs both a size and a fraction (got size="
                     f"{config.replay.size}, fraction={config.replay.fraction}); set both, or "
                     "size=0 to turn replay off.")
  if config.pt_weight > 0 and config.batch_size < 2:
    raise ValueError("the pulling-away term needs config.batch_size >= 2.")


def default_workdir(config: ml_collections.ConfigDict) -> str:
  return os.path.join("runs", config.name or "run")
