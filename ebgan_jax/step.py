"""The training step every algorithm shares: its update inside the divergence guard, several
steps per dispatch, data-parallel over a mesh and ``vmap``-ed over the members of a sweep.

``train_step(state, batch) -> (state, metrics)`` draws all its randomness from
``fold_in(state.key, state.step)``.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from ebgan_jax import algorithms, models, parallel
from ebgan_jax.state import (INIT_STREAM, GANState, ModelState, initial_guard, initial_replay,
                             make_optimizer, members_slice, over_members)

Array = jax.Array
Metrics = dict[str, Array]

# What the divergence guard checks, in order; ``guard["bad_what"]`` is 1 + the index.
GUARDED = ("discriminator loss", "generator loss", "discriminator gradient",
           "generator gradient", "discriminator parameters", "generator parameters")


def build_models(config: ml_collections.ConfigDict,
                 data_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
  """The generator and the discriminator (or encoder) that the config's algorithm needs."""
  algorithm = algorithms.make_algorithm(config)
  return models.make_models(config.model, data_shape, algorithm.discriminator, config.latent_dim,
                            pack=config.pack)


def create_state(config: ml_collections.ConfigDict, generator: nn.Module,
                 discriminator: nn.Module, data_shape: tuple[int, ...]) -> GANState:
  key = jax.random.PRNGKey(config.seed)
  k_g, k_d = jax.random.split(jax.random.fold_in(key, INIT_STREAM))
  g_input, d_input = algorithms.make_algorithm(config).example_inputs(config, data_shape)
  g_vars = generator.init(k_g, g_input, train=False)
  d_vars = discriminator.init(k_d, d_input, train=False)

  def model_state(module, variables, lr, network):
    return ModelState.create(apply_fn=module.apply, params=variables["params"],
                             tx=make_optimizer(config.optimizer, lr, network),
                             batch_stats=variables.get("batch_stats", {}),
                             compute_dtype=config.compute_dtype)

  return GANState(step=jnp.zeros((), jnp.int32), key=key,
                  g=model_state(generator, g_vars, config.optimizer.lr_g, "g"),
                  d=model_state(discriminator, d_vars, config.optimizer.lr_d, "d"),
                  controller=algorithms.make_algorithm(config).init_controller(config),
                  guard=initial_guard(),
                  replay=initial_replay(config.replay.size, data_shape))


def make_train_step(config: ml_collections.ConfigDict, algorithm: Any = None,
                    shard_batch: Callable[[Array], Array] = lambda x: x,
                    ) -> Callable[[GANState, Array], tuple[GANState, Metrics]]:
  """The pure step for ``config`` (and ``algorithm``, by default the config's); jit it, e.g.
  ``jax.jit(step, donate_argnums=0)``, or use :func:`make_parallel_step`.

  ``shard_batch`` places the latent batch like the data batch, so that the generator's work
  is split over the devices too (the noise itself does not depend on the placement).
  """
  algorithm = algorithm or algorithms.make_algorithm(config)
  settings = algorithms.StepSettings.from_config(config)
  freeze_after_first = config.on_nonfinite == "stop"

  def train_step(state: GANState, batch: Array) -> tuple[GANState, Metrics]:
    key = jax.random.fold_in(state.key, state.step)
    u = algorithm.update(state, batch, key, settings, shard_batch)
    grad_norm_d, grad_norm_g = optax.global_norm(u.grads_d), optax.global_norm(u.grads_g)
    # Divergence guard: a non-finite loss, gradient or parameter leaves the state as it was.
    # With on_nonfinite="stop" the state stays frozen from then on and the runner stops at its
    # next check; with "skip" training goes on and the skipped updates are counted.
    finite = jnp.stack([jnp.isfinite(v) for v in (
        u.loss_d, u.loss_g, grad_norm_d, grad_norm_g, optax.global_norm(u.d.params),
        optax.global_norm(u.g.params))])
    guard = state.guard
    first_bad = (guard["bad_step"] < 0) & ~jnp.all(finite)
    ok = jnp.all(finite) & ((guard["bad_step"] < 0) if freeze_after_first else True)
    keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(ok, a, b), new, old)
    guard = {"skipped": guard["skipped"] + (~ok).astype(jnp.int32),
             "bad_step": jnp.where(first_bad, state.step, guard["bad_step"]),
             "bad_what": jnp.where(first_bad, jnp.argmin(finite) + 1, guard["bad_what"]),
             "consecutive": jnp.where(ok, 0, guard["consecutive"] + 1)}
    metrics = {**u.metrics, "grad_norm_d": grad_norm_d, "grad_norm_g": grad_norm_g,
               "skipped_steps": guard["skipped"]}
    new_state = state.replace(step=state.step + 1, g=keep(u.g, state.g), d=keep(u.d, state.d),
                              controller=keep(u.controller, state.controller), guard=guard,
                              replay=keep(u.replay, state.replay) if u.replay is not None
                              else state.replay)
    return new_state, metrics

  return train_step


def make_multi_step(config: ml_collections.ConfigDict, algorithm: Any = None,
                    shard_batch: Callable[[Array], Array] = lambda x: x):
  """``steps_per_dispatch`` steps in one call, over batches stacked on a leading axis.

  The scan is fully unrolled when ``config.unroll_dispatch`` (rolled loops around convolution
  gradients are ~100x slower on XLA:CPU, jax-ml/jax#12868), else rolled (it compiles in the
  time of one step). Metrics are those of the last step.
  """
  step = make_train_step(config, algorithm, shard_batch)
  k = config.steps_per_dispatch
  if k == 1:
    return lambda state, batches: step(state, batches[0])

  def multi(state, batches):
    state, metrics = jax.lax.scan(step, state, batches,
                                  unroll=k if config.unroll_dispatch else 1)
    return state, jax.tree.map(lambda m: m[-1], metrics)
  return multi


def member_layout(config: ml_collections.ConfigDict) -> str:
  """How a sweep lays out its members (``config.member_layout``): "vmap", "unrolled" or
  "sequential"; "auto" is "sequential" on a CPU and "vmap" on accelerators.

  The cost model behind "auto": on XLA:CPU no layout that puts several members in one program
  was faster than a run alone for every family (batched convolutions run at a fraction of the
  plain ones, ten toy MLPs in one program at 0.86x, see docs/performance.md), while members
  trained one after another through the single-member program run at the rate of a run alone
  and compile once, so a sweep is never slower than its runs one after another; and each
  member is then, bit for bit, the run it would have been alone. Accelerators are under-used by
  one small member, so there the members are batched."""
  if config.member_layout != "auto":
    return config.member_layout
  return "sequential" if jax.default_backend() == "cpu" else "vmap"


def make_parallel_step(config: ml_collections.ConfigDict, mesh: jax.sharding.Mesh,
                       algorithm: Any = None, members: int | None = None):
  """The jitted data-parallel step: batches ``[steps_per_dispatch, B, ...]`` sharded over the
  mesh's ``data`` axis, the state placed by :func:`state_sharding` (replicated, the replay
  buffer split like a batch) and donated.

  With ``members`` the state has a leading member axis and the batches are
  ``[members, steps_per_dispatch, B, ...]``: one program trains every member of a sweep, each
  with its own margin, weights, learning rates and key (all traced values), the members
  batched ("vmap") or written out one by one ("unrolled"); :class:`MemberProgram` also runs
  the "sequential" layout.
  """
  rep = parallel.replicated(mesh)
  shard = lambda x: jax.lax.with_sharding_constraint(x, parallel.batch_sharding(mesh))
  layout = member_layout(config)
  step = over_members(make_multi_step(config, algorithm, shard), members, (0, 0),
                      "unrolled" if layout == "sequential" else layout)
  batches = parallel.batch_sharding(mesh, 1 if members is None else 2)
  placed = state_sharding(config, mesh, members)
  return jax.jit(step, in_shardings=(placed, batches), out_shardings=(placed, rep),
                 donate_argnums=0)


def state_sharding(config: ml_collections.ConfigDict, mesh: jax.sharding.Mesh,
                   members: int | None = None):
  """Where the training state lives on the mesh (a pytree prefix of the state): replicated,
  but for the replay buffer, whose examples are split over the devices like a batch's when
  their number divides evenly (``config.replay.size`` a multiple of the device count), so that
  a large buffer costs each device its share. The math is the same either way."""
  rep = parallel.replicated(mesh)
  if not config.replay.size:
    return rep
  lead = 0 if members is None else 1  # a sweep's buffers: [members, size, ...]
  buffer = (parallel.batch_sharding(mesh, lead) if config.replay.size % mesh.size == 0
            else rep)
  return GANState(step=rep, key=rep, g=rep, d=rep, controller=rep, guard=rep,
                  replay={"buffer": buffer, "filled": rep, "next": rep})


def place_state(state: GANState, config: ml_collections.ConfigDict, mesh: jax.sharding.Mesh,
                members: int | None = None) -> GANState:
  """``state`` put on the mesh as :func:`make_parallel_step` takes it."""
  return jax.device_put(state, state_sharding(config, mesh, members))


class MemberProgram:
  """The training step of a run's members, laid out as :func:`member_layout` says.

  The loop holds the state in the program's form (:meth:`hold`), trains it one round of
  dispatches at a time (:meth:`run`) and asks for the stacked state (:meth:`stacked`) only to
  checkpoint, draw or evaluate. With "vmap" and "unrolled" (and for a single run) the held form
  is the stacked state and a round is one dispatch of the one program. With "sequential" it is
  one state per member (a population of one, as a run alone holds it), and a round trains
  member 0 for its dispatches, then member 1, ..., each through the single-member program: a
  member's weights stay in the caches for the round (interleaving the members at every step
  cost 10-15 % on XLA:CPU), and a round lasts about :attr:`ROUND_SECONDS`, so that a stop
  signal waits at most that long. The number of dispatches in a round changes nothing in what
  a member computes.
  """

  ROUND_SECONDS = 2.0
  ROUND_BYTES = 256 * 2**20  # the batches a round holds at most (beyond the loader's prefetch)
  MAX_ROUND = 64

  def __init__(self, config: ml_collections.ConfigDict, mesh: jax.sharding.Mesh,
               algorithm: Any = None, members: int = 1):
    self.members, self.layout = members, member_layout(config)
    self.sequential = self.layout == "sequential" and members > 1
    self._config, self._mesh = config, mesh
    self.step_fn = make_parallel_step(config, mesh, algorithm,
                                      members=1 if self.sequential else members)
    self.round = 1  # dispatches in the next round, set by the last round's time
    self._stack = jax.jit(lambda held: jax.tree.map(lambda *xs: jnp.concatenate(xs), *held))
    self._stacked = None  # (held, its stacked copy): one copy per round, however often asked

  def hold(self, state: GANState) -> Any:
    """The stacked ``state`` placed on the mesh, in the form :meth:`run` takes."""
    if not self.sequential:
      return place_state(state, self._config, self._mesh, self.members)
    return [place_state(members_slice(state, i), self._config, self._mesh, 1)
            for i in range(self.members)]

  def stacked(self, held: Any) -> GANState:
    """The members' states stacked on a leading axis (a copy for "sequential", made once for
    the state a round left, however many of checkpoint, pictures and evaluation ask)."""
    if not self.sequential:
      return held
    if self._stacked is None or self._stacked[0] is not held:
      self._stacked = (held, self._stack(tuple(held)))
    return self._stacked[1]

  def counters(self, held: Any) -> GANState:
    """The members' ``step`` and ``guard`` stacked, the rest of the state left out: what the
    runner's checks read at every log, without copying the networks."""
    if not self.sequential:
      return held
    step, guard = self._stack(tuple((s.step, s.guard) for s in held))
    return GANState(step=step, key=None, g=None, d=None, controller=None, guard=guard,
                    replay=None)

  def put(self, sharding: jax.sharding.NamedSharding) -> Callable[[Any], Any]:
    """How the loader places a dispatch's local batches ``[members, k, rows, ...]``."""
    if not self.sequential:
      return lambda local: parallel.global_batch(local, sharding, 2)

    return lambda local: [parallel.global_batch(local[i:i + 1], sharding, 2)
                          for i in range(self.members)]

  def run(self, held: Any, dispatches: list) -> tuple[Any, Any]:
    """``held`` trained on a round of ``dispatches``; the metrics are each member's last."""
    if not self.sequential:
      (batches,) = dispatches
      return self.step_fn(held, batches)
    self._stacked = None  # the copy of the state before this round is no longer wanted
    t0 = time.perf_counter()
    out, metrics = [], []
    for i, state in enumerate(held):
      for batches in dispatches:
        state, last = self.step_fn(state, batches[i])
      out.append(state)
      metrics.append(last)
    jax.block_until_ready(metrics)
    per_dispatch = (time.perf_counter() - t0) / (self.members * len(dispatches))
    dispatch_bytes = sum(batches.nbytes for batches in dispatches[0])
    max_round = min(self.MAX_ROUND, max(1, self.ROUND_BYTES // max(dispatch_bytes, 1)))
    self.round = int(min(max_round, max(1, self.ROUND_SECONDS / (self.members * per_dispatch))))
    return out, metrics

  def fetch(self, metrics: Any) -> dict[str, np.ndarray]:
    """The metrics of :meth:`run` on the host, each ``[members]`` (one host sync)."""
    got = jax.device_get(metrics)
    if self.sequential:
      return {name: np.concatenate([np.atleast_1d(m[name]) for m in got]) for name in got[0]}
    return {name: np.atleast_1d(np.asarray(v)) for name, v in got.items()}
