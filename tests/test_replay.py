"""Experience replay: the buffer's ring against a NumPy reference, every adversarial algorithm
training with it, exact resume, and the refusals. (A vmapped sweep with replay on 8 devices =
the same on 1 device, each member with its own buffer: tests/parallel_worker.py.)"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ebgan_jax import checkpoint, configs, data, step as step_lib
from ebgan_jax.algorithms import REGISTRY
from ebgan_jax.algorithms.base import Adversarial
from ebgan_jax.state import initial_replay, replay_mix, replay_push

from conftest import tiny


def test_the_buffer_is_a_ring_of_the_latest_fakes():
  replay = initial_replay(5, (2,))
  fake = lambda start, n: jnp.repeat(jnp.arange(start, start + n, dtype=jnp.float32)[:, None],
                                     2, axis=1)
  replay = replay_push(replay, fake(0, 3))
  assert int(replay["filled"]) == 3 and int(replay["next"]) == 3
  replay = replay_push(replay, fake(10, 4))  # wraps: slots 3, 4, 0, 1
  expected = np.repeat(np.array([[12], [13], [2], [10], [11]], np.float32), 2, axis=1)
  np.testing.assert_array_equal(replay["buffer"], expected)
  assert int(replay["filled"]) == 5 and int(replay["next"]) == 2
  replay = replay_push(replay, fake(20, 7))  # more rows than slots: the last five
  np.testing.assert_array_equal(np.sort(replay["buffer"][:, 0]), [22, 23, 24, 25, 26])


def test_mixing_replaces_the_last_rows_with_buffer_rows_once_it_holds_any():
  key = jax.random.PRNGKey(0)
  fresh = jnp.full((8, 2), -1.0)
  empty = initial_replay(4, (2,))
  np.testing.assert_array_equal(replay_mix(empty, fresh, 3, key), fresh)
  held = replay_push(empty, jnp.array([[5.0, 5.0], [6.0, 6.0]]))  # two of four slots
  mixed = np.asarray(replay_mix(held, fresh, 3, key))
  np.testing.assert_array_equal(mixed[:5], -1.0)
  assert set(mixed[5:, 0]) <= {5.0, 6.0}  # only filled slots are drawn
  np.testing.assert_array_equal(replay_mix(held, fresh, 0, key), fresh)


@pytest.mark.parametrize("name", [n for n, a in REGISTRY.items() if issubclass(a, Adversarial)])
def test_every_adversarial_algorithm_trains_on_replayed_fakes(name):
  config = configs.with_values(configs.toy_config("ring", name), **{
      "model.size_g": 16, "model.size_d": 16, "batch_size": 8,
      "replay.size": 32, "replay.fraction": 0.5,
      # MAGAN's discriminator first pre-trains on the data alone: start it adversarial.
      **({"magan.pretrain_steps": 0} if name == "magan" else {})})
  g, d = step_lib.build_models(config, (2,))
  state = step_lib.create_state(config, g, d, (2,))
  # A buffer of points far from anything the generator makes: the discriminator sees them.
  full = replay_push(state.replay, jnp.full((32, 2), 50.0))
  batch = jnp.asarray(np.random.default_rng(0).normal(size=(1, 8, 2)), jnp.float32)
  step = jax.jit(step_lib.make_multi_step(config))
  with_replay, metrics = step(state.replace(replay=full), batch)
  without, plain = step(state.replace(replay=initial_replay(32, (2,))), batch)
  assert all(np.isfinite(float(v)) for v in metrics.values())
  # The buffer took this step's 8 fakes; what the discriminator measured on its fakes (half
  # of them replayed) changed. (Its parameters need not: BEGAN's k_0 = 0 ignores the fakes.)
  assert int(with_replay.replay["next"]) == 8 and int(without.replay["filled"]) == 8
  assert not np.allclose(np.asarray(with_replay.replay["buffer"][:8]), 50.0)
  assert any(float(metrics[k]) != float(plain[k]) for k in metrics)


def test_a_run_with_replay_resumes_bitwise_from_its_checkpoint(tmp_path):
  # The runner's resume is this: restore the newest checkpoint into a fresh state and go on
  # (its bitwise resume is tested for every algorithm in test_checkpoint and test_family).
  config = tiny(**{"replay.size": 150, "replay.fraction": 0.3})
  g, d = step_lib.build_models(config, (2,))
  fresh = lambda: step_lib.create_state(config, g, d, (2,))
  dataset = data.make_dataset(config.data, batch_size=config.batch_size, seed=config.seed)
  step = jax.jit(step_lib.make_multi_step(config))
  run = lambda state, steps: functools.reduce(
      lambda s, t: step(s, jnp.asarray(dataset.batch(t))[None])[0], steps, state)
  middle = run(fresh(), range(3))
  ckpt = checkpoint.Checkpointer(str(tmp_path), async_save=False)
  ckpt.save(3, middle, {"experiment": config.name})
  ckpt.close()
  uninterrupted = run(middle, range(3, 6))
  restored, at, _ = checkpoint.Checkpointer(str(tmp_path), read_only=True).restore_latest(
      fresh(), experiment=config.name)
  resumed = run(restored, range(at, 6))
  assert at == 3 and int(resumed.replay["filled"]) == 150 and int(resumed.replay["next"]) == 0
  for a, b in zip(jax.tree.leaves(uninterrupted), jax.tree.leaves(resumed)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("overrides,message", [
    ({"algorithm": "vae", "replay.size": 8, "replay.fraction": 0.5}, "'vae' has none"),
    ({"replay.size": 8}, "needs both a size and a fraction"),
    ({"replay.size": 8, "replay.fraction": 1.5}, "fraction in \\[0, 1\\]"),
])
def test_replay_settings_that_cannot_work_are_one_line(overrides, message):
  config = configs.with_values(configs.load_config("toy_ring_ebgan"), **overrides)
  with pytest.raises(ValueError, match=message):
    configs.validate(config)
