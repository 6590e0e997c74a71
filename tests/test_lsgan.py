"""The Loss-Sensitive GAN's Lipschitz controls (Qi 2017, §4): weight decay and a gradient
penalty on the loss function L, named in the config."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ebgan_jax import algorithms, configs, step as step_lib, train


def lsgan_state(**values):
  config = configs.with_values(configs.load_config("digits_lsgan"), **{
      "model.size_g": 16, "model.size_d": 8, **values})
  g, d = step_lib.build_models(config, (8, 8, 1))
  return config, algorithms.make_algorithm(config), step_lib.create_state(config, g, d, (8, 8, 1))


def test_weight_decay_is_half_the_squared_norm_of_l():
  config, algorithm, state = lsgan_state(**{"lsgan.weight_decay": 0.01})
  x = jnp.zeros((4, 8, 8, 1))
  penalty, metrics = algorithm.discriminator_penalty(state.d, state.d.params, x, x,
                                                     jax.random.PRNGKey(0), state.controller)
  squares = sum(float(np.sum(np.square(p))) for p in jax.tree.leaves(state.d.params))
  assert float(penalty) == pytest.approx(0.005 * squares, rel=1e-5)
  assert float(metrics["weight_norm"]) == pytest.approx(np.sqrt(squares), rel=1e-5)


def test_the_gradient_penalty_is_one_sided_on_interpolates():
  config, algorithm, state = lsgan_state(**{"lsgan.gradient_penalty": 10.0})
  rng = np.random.default_rng(0)
  real = jnp.asarray(rng.uniform(-1, 1, (5, 8, 8, 1)), jnp.float32)
  fake = jnp.asarray(rng.uniform(-1, 1, (5, 8, 8, 1)), jnp.float32)
  key = jax.random.PRNGKey(3)
  penalty, metrics = algorithm.discriminator_penalty(state.d, state.d.params, real, fake, key,
                                                     state.controller)
  # reference: each interpolate's own gradient, one example at a time
  eps = np.asarray(jax.random.uniform(key, (5, 1, 1, 1)))
  x_hat = eps * np.asarray(real) + (1 - eps) * np.asarray(fake)

  def energy(x):
    out = state.d.apply_fn({"params": state.d.params}, x[None], train=False)
    return algorithm.energy(x[None], out)[0]
  norms = np.array([np.linalg.norm(np.asarray(jax.grad(energy)(jnp.asarray(x)))) for x in x_hat])
  expected = 10.0 * np.mean(np.maximum(norms - 1.0, 0.0) ** 2)
  assert float(penalty) == pytest.approx(expected, rel=1e-4)
  assert float(metrics["grad_norm_x"]) == pytest.approx(norms.mean(), rel=1e-4)


def test_off_by_default_and_validated(tmp_path):
  _, algorithm, state = lsgan_state()
  assert set(state.controller) == {"lam", "delta_scale"}
  x = jnp.zeros((2, 8, 8, 1))
  assert algorithm.discriminator_penalty(state.d, state.d.params, x, x, jax.random.PRNGKey(0),
                                         state.controller) is None
  with pytest.raises(ValueError, match="lsgan.gradient_penalty must be >= 0"):
    configs.validate(configs.with_values(configs.load_config("digits_lsgan"),
                                         **{"lsgan.gradient_penalty": -1.0}))
  config = configs.with_values(configs.load_config("digits_lsgan"), **{
      "model.size_g": 16, "model.size_d": 8, "num_steps": 6, "log_every": 3,
      "sample_every": 1000, "lsgan.weight_decay": 1e-3, "lsgan.gradient_penalty": 1.0})
  summary = train.train_and_evaluate(config, str(tmp_path), progress=False)
  assert np.isfinite(summary["loss_d"]) and summary["grad_norm_x"] > 0 and summary["weight_norm"] > 0
