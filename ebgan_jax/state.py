"""What a run carries from step to step: two networks with their optimizers, the algorithm's
controller, the divergence guard, the step and the key.

Every algorithm trains two networks in the ``g`` and ``d`` slots: the generator and the
discriminator (or energy function) of the adversarial algorithms, the decoder and the encoder
of the VAE. All randomness of step ``t`` comes from ``fold_in(key, t)``, so a run draws the
same numbers however it was interrupted and resumed.
"""

from __future__ import annotations

import contextlib
from typing import Any, Sequence

import flax
import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax.training import train_state

Array = jax.Array

# fold_in constants of the streams that are not per-step: initial parameters, and the noise of
# the sample pictures (+1: the VAE's likelihood estimate, +2: the evaluation samples).
INIT_STREAM, SAMPLE_STREAM = 0x1217, 0x5A3F


class ModelState(train_state.TrainState):
  """A network's parameters, optimizer and BatchNorm statistics (``{}`` when it has none), and
  the dtype its training forward passes compute in (:func:`apply_train`)."""
  batch_stats: Any = None
  compute_dtype: str = flax.struct.field(pytree_node=False, default="float32")

  @classmethod
  def create(cls, **kwargs) -> "ModelState":
    # TrainState.create starts at the Python int 0, a weakly typed array once traced; the
    # step restored from a checkpoint is a plain int32, and the two would make a resumed run
    # compile its training program again instead of finding it in the compilation cache.
    return super().create(**kwargs).replace(step=jnp.zeros((), jnp.int32))


@flax.struct.dataclass
class GANState:
  step: Array  # int32 scalar
  key: Array  # the run's base PRNG key (raw uint32[2])
  g: ModelState
  d: ModelState
  controller: dict[str, Array]  # algorithm state: margins, weights, BEGAN's k_t, ...
  guard: dict[str, Array]  # the divergence guard: skipped updates, first non-finite step
  # Experience replay (config.replay): earlier generator outputs; None when it is off, so that
  # a state without replay has the structure (and the checkpoints) it had before replay.
  replay: dict[str, Array] | None = None


def initial_replay(size: int, example_shape: tuple[int, ...]) -> dict[str, Array] | None:
  """An empty replay buffer of ``size`` examples (None for size 0): the examples, how many
  slots hold one, and the slot the next one goes to (oldest first once full)."""
  if not size:
    return None
  return {"buffer": jnp.zeros((size,) + tuple(example_shape), jnp.float32),
          "filled": jnp.zeros((), jnp.int32), "next": jnp.zeros((), jnp.int32)}


def replay_mix(replay: dict[str, Array], fake: Array, count: int, key: Array) -> Array:
  """``fake`` with its last ``count`` rows replaced by examples drawn uniformly (with
  replacement) from the buffer, once it holds any; unchanged while it is empty."""
  if not replay or not count:
    return fake
  index = jax.random.randint(key, (count,), 0, jnp.maximum(replay["filled"], 1))
  old = replay["buffer"][index].astype(fake.dtype)
  kept = jnp.where(replay["filled"] > 0, old, fake[-count:])
  return jnp.concatenate([fake[:-count], kept], axis=0)


def replay_push(replay: dict[str, Array], fake: Array) -> dict[str, Array]:
  """The buffer with ``fake``'s rows written over the oldest slots (a ring; the last
  ``size`` rows when ``fake`` has more)."""
  if not replay:
    return replay
  size = replay["buffer"].shape[0]
  rows = jax.lax.stop_gradient(fake[-size:]).astype(jnp.float32)
  slots = (replay["next"] + jnp.arange(rows.shape[0])) % size
  return {"buffer": replay["buffer"].at[slots].set(rows),
          "filled": jnp.minimum(replay["filled"] + rows.shape[0], size).astype(jnp.int32),
          "next": ((replay["next"] + rows.shape[0]) % size).astype(jnp.int32)}


def initial_guard() -> dict[str, Array]:
  return {"skipped": jnp.zeros((), jnp.int32), "bad_step": jnp.full((), -1, jnp.int32),
          "bad_what": jnp.zeros((), jnp.int32), "consecutive": jnp.zeros((), jnp.int32)}


def make_optimizer(opt_cfg: ml_collections.ConfigDict, learning_rate: float, network: str = ""):
  """The optimizer of ``network`` ("g", "d"; "" for the shared one): ``optimizer.name_<network>``
  when set, else ``optimizer.name``."""
  name = opt_cfg.get(f"name_{network}") if network else ""
  name = name or opt_cfg.name
  # inject_hyperparams keeps the learning rate in the optimizer state: it is checkpointed
  # and can differ between members of a vmapped sweep.
  if name == "adam":
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=learning_rate, b1=opt_cfg.b1,
                                              b2=opt_cfg.b2)
  elif name == "adamax":  # MAGAN's released code trains with Adamax
    tx = optax.inject_hyperparams(optax.adamax)(learning_rate=learning_rate, b1=opt_cfg.b1,
                                                b2=opt_cfg.b2)
  else:
    tx = optax.inject_hyperparams(optax.sgd)(learning_rate=learning_rate)
  return standard_promotion(tx)


def scale_learning_rate(model: ModelState, factor) -> ModelState:
  """``model`` with the learning rate in its optimizer state (:func:`make_optimizer`)
  multiplied by ``factor`` (a traced scalar)."""
  hyperparams = dict(model.opt_state.hyperparams)
  hyperparams["learning_rate"] = hyperparams["learning_rate"] * factor
  return model.replace(opt_state=model.opt_state._replace(hyperparams=hyperparams))


def standard_promotion(tx: optax.GradientTransformation) -> optax.GradientTransformation:
  """``tx`` with its update run under JAX's standard dtype promotion: optax's Adam mixes its
  int32 step count with float32 (the bias correction), which strict promotion refuses. The
  state is ``tx``'s own, unchanged."""
  def update(updates, state, params=None):
    with jax.numpy_dtype_promotion("standard"):
      return tx.update(updates, state, params)
  return optax.GradientTransformation(tx.init, update)


def sample_latent(key: Array, n: int, dim: int, dist: str) -> Array:
  if dist == "normal":
    return jax.random.normal(key, (n, dim))
  return jax.random.uniform(key, (n, dim), minval=-1.0, maxval=1.0)


# The 2-D mixtures are drawn and evaluated on the same 2,500 samples from fixed noise
# (PacGAN's evaluation, Lin et al. 2018, §5.1).
MIXTURE_SAMPLES = 2500


def sample_noise(config: ml_collections.ConfigDict, n: int) -> Array:
  """The fixed noise of the sample pictures (and of the mixtures' evaluation), the same at every
  step of a run."""
  key = jax.random.fold_in(jax.random.PRNGKey(config.seed), SAMPLE_STREAM)
  return sample_latent(key, n, config.latent_dim, config.latent_dist)


def _cast(tree, dtype):
  return jax.tree.map(lambda a: a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a,
                      tree)


def apply_train(state: ModelState, params, batch_stats, x, key):
  """A training-mode forward pass: ``(output, updated BatchNorm statistics)``.

  With ``state.compute_dtype = "bfloat16"`` the parameters, statistics and input are cast to
  bfloat16 for the pass and its outputs back to float32: the network computes in bfloat16
  while the parameters, their gradients, the optimizer and the losses stay in float32 (the
  cast's gradient is the cast back)."""
  low = state.compute_dtype != "float32"
  if low:
    dtype = jnp.dtype(state.compute_dtype)
    params, batch_stats, x = _cast(params, dtype), _cast(batch_stats, dtype), _cast(x, dtype)
  # Flax's BatchNorm reduces bfloat16 in float32 by promotion, which strict promotion refuses.
  with jax.numpy_dtype_promotion("standard") if low else contextlib.nullcontext():
    out, mutated = state.apply_fn({"params": params, "batch_stats": batch_stats}, x,
                                  train=True, mutable=["batch_stats"], rngs={"dropout": key})
  stats = mutated.get("batch_stats", {})
  if low:
    out, stats = _cast(out, jnp.float32), _cast(stats, jnp.float32)
  return out, stats


def stack_states(states: Sequence[Any]) -> Any:
  """Members that differ in values only, stacked on a leading axis under one structure."""
  leaves = [jax.tree.leaves(st) for st in states]
  return jax.tree.unflatten(jax.tree.structure(states[0]), [jnp.stack(xs) for xs in zip(*leaves)])


def member(tree: Any, i: int) -> Any:
  """Member ``i`` of a stacked tree (the leading axis dropped)."""
  return jax.tree.map(lambda x: x[i], tree)


def over_members(fn, members: int | None, in_axes: Sequence[int | None], layout: str = "vmap"):
  """``fn`` on stacked members. For several, ``layout="vmap"`` batches them (one program whose
  matmuls and convolutions carry the member axis: what accelerators run best), and
  ``"unrolled"`` writes each member's computation out as its own sub-program of the one jitted
  function, as it would compile alone (XLA:CPU runs batched matmuls slower than plain ones).
  For one member the member axis is dropped on the way in and restored on the way out.
  ``members=None``: ``fn`` itself, on unstacked arguments."""
  if members is None:
    return fn
  if members > 1 and layout == "vmap":
    return jax.vmap(fn, in_axes=tuple(in_axes))
  if members > 1:
    def unrolled(*args):
      outs = [fn(*[a if axis is None else member(a, i) for a, axis in zip(args, in_axes)])
              for i in range(members)]
      return jax.tree.map(lambda *xs: jnp.stack(xs), *outs)
    return unrolled

  def single(*args):
    args = [a if axis is None else member(a, 0) for a, axis in zip(args, in_axes)]
    return jax.tree.map(lambda x: x[None], fn(*args))
  return single


def members_slice(tree: Any, i: int) -> Any:
  """Member ``i`` of a stacked tree as a population of one (the leading axis kept)."""
  return jax.tree.map(lambda x: x[i:i + 1], tree)


def jit_over_members(fn, members: int | None, in_axes: Sequence[int | None],
                     layout: str = "vmap"):
  """``jax.jit(over_members(fn, members, in_axes, layout))``, and for ``layout="sequential"``
  one jitted program of one member called for each member in turn, its outputs stacked: every
  member is computed by the very program that computes it in a run of its own, so its results
  are that run's, bit for bit."""
  if layout != "sequential" or members is None or members == 1:
    return jax.jit(over_members(fn, members, in_axes, layout))
  one = jax.jit(over_members(fn, 1, in_axes))

  def sequential(*args):
    outs = [one(*[a if axis is None else members_slice(a, i) for a, axis in zip(args, in_axes)])
            for i in range(members)]
    return jax.tree.map(lambda *xs: jnp.concatenate(xs), *outs)
  return sequential
