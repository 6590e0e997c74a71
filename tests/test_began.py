"""BEGAN's networks and its learning-rate recipe (Berthelot, Schumm & Metz 2017, §3.5, §4)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ebgan_jax import configs, models, step as step_lib, train, trained
from ebgan_jax.algorithms.began import halve_on_stall


@pytest.mark.parametrize("side", [8, 32])
def test_began_networks_have_the_papers_shape(side):
  shape = (side, side, 3)
  ae = models.BEGANAutoEncoder(shape, features=4, code_size=5)
  x = jnp.zeros((2,) + shape)
  variables = ae.init(jax.random.PRNGKey(0), x)
  rec, code = ae.apply(variables, x)
  assert rec.shape == x.shape and code.shape == (2, 5)
  params = variables["params"]
  levels = models.began_levels(side)
  # encoder: a first conv, two per resolution (n, 2n, 3n, ...), a stride-2 conv between them
  convs = [params[f"Conv_{i}"]["kernel"].shape for i in range(1 + 3 * levels + 2)]
  expected = [(3, 3, 3, 4)]
  width = 4
  for level in range(levels + 1):
    f = 4 * (level + 1)
    expected += [(3, 3, width, f), (3, 3, f, f)]
    width = f
    if level < levels:
      expected.append((3, 3, f, 4 * (level + 2)))
      width = 4 * (level + 2)
  assert convs == expected
  assert params["Dense_0"]["kernel"].shape == (8 * 8 * width, 5)  # no non-linearity after it
  # the generator is the decoder's architecture, with its own weights
  generator = models.BEGANDecoder(shape, features=4)
  g_params = generator.init(jax.random.PRNGKey(1), jnp.zeros((2, 5)))["params"]
  assert jax.tree.map(np.shape, g_params) == jax.tree.map(np.shape, params["BEGANDecoder_0"])
  with pytest.raises(ValueError, match="8 times a power of two"):
    models.make_models(configs.with_values(configs.base_config(), **{"model.arch": "began"}).model,
                       (24, 24, 1))


def test_the_decoder_upsamples_by_nearest_neighbours_either_way():
  shape = (16, 16, 1)
  z = jax.random.normal(jax.random.PRNGKey(0), (3, 6))
  a = models.BEGANDecoder(shape, features=4, upsample="subpixel")
  params = a.init(jax.random.PRNGKey(1), z)
  b = models.BEGANDecoder(shape, features=4, upsample="resize")
  np.testing.assert_allclose(a.apply(params, z), b.apply(params, z), rtol=1e-5, atol=1e-5)


def test_the_learning_rates_halve_when_m_global_stalls():
  controller = {"lr_window": jnp.float32(3), "window_steps": jnp.float32(0),
                "window_sum": jnp.float32(0), "best_window": jnp.float32(jnp.inf),
                "lr_scale": jnp.float32(1)}
  # window means 5, 4 (better), 4.5 (stall: halve), 3 (better), 3 (not below: halve)
  sequence = [5, 5, 5, 4, 4, 4, 4, 5, 4.5, 3, 3, 3, 3, 2, 4]
  scales = []
  for m in sequence:
    controller = halve_on_stall(controller, jnp.float32(m))
    scales.append(float(controller["lr_scale"]))
  assert scales == [1] * 8 + [0.5] * 6 + [0.25]
  assert float(controller["best_window"]) == 3


def tiny_began(**overrides):
  return configs.with_values(configs.load_config("digits_began"), **{
      "num_steps": 12, "log_every": 2, "checkpoint_every": 6, "sample_every": 1000,
      "async_checkpoints": False, "model.features_g": 4, "model.features_d": 4,
      "began.lr_window": 2, **overrides})


def test_the_halved_rate_is_the_optimizers_and_is_checkpointed(tmp_path):
  config = tiny_began()
  train.train_and_evaluate(config, str(tmp_path / "full"), progress=False)
  run = trained.load(str(tmp_path / "full"))
  scale = float(run.state.controller["lr_scale"])
  for net, lr in ((run.state.g, config.optimizer.lr_g), (run.state.d, config.optimizer.lr_d)):
    assert float(net.opt_state.hyperparams["learning_rate"]) == pytest.approx(lr * scale)
  from conftest import assert_resume_is_bitwise
  assert_resume_is_bitwise(config, tmp_path / "full", tmp_path / "split", split_at=6)


def test_without_a_window_the_controller_is_the_old_one():
  config = configs.with_values(tiny_began(), **{"began.lr_window": 0})
  g, d = step_lib.build_models(config, (8, 8, 1))
  state = step_lib.create_state(config, g, d, (8, 8, 1))
  assert set(state.controller) == {"k", "gamma", "lambda_k"}
  with pytest.raises(ValueError, match="lr_window must be >= 0"):
    configs.validate(configs.with_values(config, **{"began.lr_window": -1}))
