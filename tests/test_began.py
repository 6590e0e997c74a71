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
  return configs.with_values(configs.load_config("digits_began_paper"), **{
      "num_steps": 12, "log_every": 2, "checkpoint_every": 6, "sample_every": 1000,
      "async_checkpoints": False, "model.features_g": 4, "model.features_d": 4,
      "began.lr_window": 2, **overrides})


def test_the_halved_rate_is_the_optimizers_and_is_checkpointed(tmp_path):
  # With k_0 > 0 and a generator rate 5 times the discriminator's: both resume bitwise.
  config = tiny_began(**{"began.k0": 0.1, "optimizer.lr_g": 5e-4})
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
  assert float(state.controller["k"]) == 0.0  # the paper's k_0
  copy = lambda **values: configs.with_values(config.copy_and_resolve_references(), **values)
  k0 = step_lib.create_state(copy(**{"began.k0": 0.25}), g, d, (8, 8, 1))
  assert float(k0.controller["k"]) == 0.25
  with pytest.raises(ValueError, match="k0 .* must be in \\[0, 1\\]"):
    configs.validate(copy(**{"began.k0": 1.5}))
  with pytest.raises(ValueError, match="lr_window must be >= 0"):
    configs.validate(configs.with_values(config, **{"began.lr_window": -1}))


def test_an_independent_began_written_from_the_paper_takes_the_same_steps():
  """BEGAN (Berthelot et al. 2017, §3.3) in a few lines of JAX and optax, without the library's
  losses, controller or step: L(v) = mean |v - D(v)|, L_D = L(x) - k_t L(G(z)),
  L_G = L(G(z)), k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1), D updated first
  and G through the updated D, on the same networks, batches and noise as the library's run."""
  import optax
  from ebgan_jax import data
  from ebgan_jax.state import sample_latent
  config = tiny_began(**{"began.lr_window": 0, "began.gamma": 0.7, "began.lambda_k": 0.05,
                         "began.k0": 0.1, "optimizer.lr_g": 5e-4})
  shape = (8, 8, 1)
  g, d = step_lib.build_models(config, shape)
  state = step_lib.create_state(config, g, d, shape)
  dataset = data.make_dataset(config.data, batch_size=config.batch_size, seed=config.seed)
  step = jax.jit(step_lib.make_train_step(config))

  def energy(d_params, v):  # per-example mean absolute reconstruction error
    return jnp.mean(jnp.abs(v - d.apply({"params": d_params}, v, train=False)[0]), axis=(1, 2, 3))

  opt_g = optax.adam(5e-4, b1=0.5, b2=0.999)
  opt_d = optax.adam(1e-4, b1=0.5, b2=0.999)
  @jax.jit
  def paper_step(gp, dp, og, od, k, x, z):
    with jax.numpy_dtype_promotion("standard"):  # optax's Adam mixes int32 and float32
      fake = g.apply({"params": gp}, z, train=False)
      loss_d = lambda p: jnp.mean(energy(p, x)) - k * jnp.mean(energy(p, fake))
      real, grads = jnp.mean(energy(dp, x)), jax.grad(loss_d)(dp)
      updates, od = opt_d.update(grads, od)
      dp = optax.apply_updates(dp, updates)
      loss_g = lambda p: jnp.mean(energy(dp, g.apply({"params": p}, z, train=False)))
      fake_energy, grads = jax.value_and_grad(loss_g)(gp)
      updates, og = opt_g.update(grads, og)
      gp = optax.apply_updates(gp, updates)
      k = jnp.clip(k + 0.05 * (0.7 * real - fake_energy), 0.0, 1.0)
    return gp, dp, og, od, k

  gp, dp = state.g.params, state.d.params
  og, od, k = opt_g.init(gp), opt_d.init(dp), jnp.float32(0.1)
  library = state
  for t in range(6):
    x = jnp.asarray(dataset.batch(t))
    library, metrics = step(library, x)
    # The noise the runner draws at step t (its key schedule; the math is the paper's).
    k_z = jax.random.split(jax.random.fold_in(jax.random.fold_in(state.key, t), 0), 4)[0]
    z = sample_latent(k_z, x.shape[0], config.latent_dim, config.latent_dist)
    gp, dp, og, od, k = paper_step(gp, dp, og, od, k, x, z)
    np.testing.assert_allclose(float(metrics["k"]), float(k), rtol=1e-5, atol=1e-7)
  for mine, theirs in ((gp, library.g.params), (dp, library.d.params)):
    for a, b in zip(jax.tree.leaves(mine), jax.tree.leaves(theirs)):
      np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-4, atol=1e-6)
