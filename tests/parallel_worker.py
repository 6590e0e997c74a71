"""Run in a subprocess by test_parallel.py: one EBGAN-PT step and one BiHM step on 8 CPU devices
against the same steps on one device. Prints one JSON line of relative errors."""

import json
import sys

import jax

jax.config.update("jax_num_cpu_devices", 8)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

from ebgan_jax import algorithms, configs, data, losses, models, parallel  # noqa: E402
from ebgan_jax import state as state_lib, step as step_lib  # noqa: E402


def max_rel_err(a, b):
  a, b = jax.device_get((a, b))
  errs = [float(np.max(np.abs(x - y)) / (np.max(np.abs(y)) + 1e-12))
          for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b))]
  return max(errs)


class PerDevicePT(algorithms.EBGAN):
  """The wrong formulation: the pulling-away term of each device's rows, averaged."""
  mesh = None

  def generator_loss(self, x_fake, out_fake, controller):
    loss, metrics, inputs = super().generator_loss(x_fake, out_fake, controller)
    global_pt = losses.pulling_away_term(out_fake[1])
    local_pt = jax.shard_map(lambda c: jax.lax.pmean(losses.pulling_away_term(c), "data"),
                             mesh=PerDevicePT.mesh, in_specs=P("data"), out_specs=P())(out_fake[1])
    return loss + controller["pt_weight"] * (local_pt - global_pt), metrics, inputs


def main():
  assert jax.device_count() == 8, jax.devices()
  config = configs.load_config("digits_ebgan_pt")
  with config.unlocked():
    config.model.size_g, config.model.size_d, config.latent_dim = 64, 32, 16
    config.batch_size, config.pt_weight, config.margin = 32, 1.0, 1.0
    config.optimizer.name = "sgd"  # Adam would magnify float noise in zero-mean gradients
    config.optimizer.lr_g = config.optimizer.lr_d = 0.1
  ds = data.make_dataset(config.data, batch_size=32, seed=0)
  g, d = models.make_models(config.model, ds.shape)
  fresh = lambda: step_lib.create_state(config, g, d, ds.shape)  # donated steps consume states
  batches = np.stack([ds.batch(0)])

  single_device = jax.devices()[0]
  one = jax.jit(step_lib.make_multi_step(config))(jax.device_put(fresh(), single_device),
                                               jax.device_put(batches, single_device))[0]
  mesh = parallel.make_mesh()
  sharding = parallel.batch_sharding(mesh, 1)
  eight = step_lib.make_parallel_step(config, mesh)(parallel.replicate(fresh(), mesh),
                                                 jax.device_put(batches, sharding))[0]
  PerDevicePT.mesh = mesh
  wrong = step_lib.make_parallel_step(config, mesh, PerDevicePT())(parallel.replicate(fresh(), mesh),
                                                                jax.device_put(batches, sharding))[0]
  # A sweep of two members (margins) inside the data-parallel step.
  pop = lambda: state_lib.stack_states([fresh(), step_lib.create_state(config, g, d, ds.shape).replace(
      controller={"margin": jnp.float32(3.0), "pt_weight": jnp.float32(0.5)})])
  pop_batches = np.stack([batches, batches])
  pop_one = jax.jit(jax.vmap(step_lib.make_multi_step(config)))(
      jax.device_put(pop(), single_device), jax.device_put(pop_batches, single_device))[0]
  pop_eight = step_lib.make_parallel_step(config, mesh, members=2)(
      parallel.replicate(pop(), mesh),
      jax.device_put(pop_batches, parallel.batch_sharding(mesh, 2)))[0]
  # Experience replay in that sweep: each member's buffer (filled differently) feeds half of
  # its discriminator's fakes.
  replayed = configs.with_values(config.copy_and_resolve_references(),
                                 **{"replay.size": 64, "replay.fraction": 0.5})
  def replay_member(seed):
    fresh_state = step_lib.create_state(replayed, g, d, ds.shape)
    old = jax.random.uniform(jax.random.PRNGKey(seed), (64,) + ds.shape, minval=-1, maxval=1)
    return fresh_state.replace(replay=state_lib.replay_push(fresh_state.replay, old))
  r_pop = lambda: state_lib.stack_states([replay_member(1), replay_member(2)])
  r_one = jax.jit(jax.vmap(step_lib.make_multi_step(replayed)))(
      jax.device_put(r_pop(), single_device), jax.device_put(pop_batches, single_device))[0]
  r_eight = step_lib.make_parallel_step(replayed, mesh, members=2)(
      step_lib.place_state(r_pop(), replayed, mesh, members=2),
      jax.device_put(pop_batches, parallel.batch_sharding(mesh, 2)))[0]
  # The BiHM: K samples per example drawn inside the sharded step.
  bihm = configs.load_config("digits_bihm")
  with bihm.unlocked():
    bihm.model.sbn_sizes, bihm.latent_dim, bihm.batch_size = (16, 8), 24, 32
    bihm.optimizer.name, bihm.optimizer.lr_g, bihm.optimizer.lr_d = "sgd", 0.1, 0.1
  b_ds = data.make_dataset(bihm.data, batch_size=32, seed=0)
  b_g, b_d = step_lib.build_models(bihm, b_ds.shape)
  b_fresh = lambda: step_lib.create_state(bihm, b_g, b_d, b_ds.shape)
  b_batches = np.stack([b_ds.batch(0)])
  b_one = jax.jit(step_lib.make_multi_step(bihm))(jax.device_put(b_fresh(), single_device),
                                                  jax.device_put(b_batches, single_device))[0]
  b_eight = step_lib.make_parallel_step(bihm, mesh)(parallel.replicate(b_fresh(), mesh),
                                                    jax.device_put(b_batches, sharding))[0]
  print(json.dumps({
      "rel_err_bihm": max(max_rel_err(b_eight.g.params, b_one.g.params),
                          max_rel_err(b_eight.d.params, b_one.d.params)),
      "rel_err_population": max_rel_err(pop_eight.g.params, pop_one.g.params),
      "rel_err_replay": max(max_rel_err(r_eight.d.params, r_one.d.params),
                            max_rel_err(r_eight.replay, r_one.replay)),
      # member 0 of both sweeps is the same fresh state, with and without a replay buffer
      # the buffer's 64 examples split over the devices like a batch's rows
      "replay_rows_per_device": sorted({s.data.shape[1] for s in
                                        r_eight.replay["buffer"].addressable_shards}),
      "replay_changes_d": max_rel_err(state_lib.member(r_one.d.params, 0),
                                      state_lib.member(pop_one.d.params, 0)),
      "devices": jax.device_count(),
      "batch_sharded_over": len(jax.device_put(batches, sharding).sharding.device_set),
      "rel_err_g": max_rel_err(eight.g.params, one.g.params),
      "rel_err_d": max_rel_err(eight.d.params, one.d.params),
      "rel_err_batch_stats": max_rel_err(eight.g.batch_stats, one.g.batch_stats),
      "rel_err_g_per_device_pt": max_rel_err(wrong.g.params, one.g.params),
  }))


if __name__ == "__main__":
  sys.exit(main())
