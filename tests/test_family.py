"""The family on the shared step and runner: the properties the papers state."""

import json

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import tensorflow_datasets as tfds

from ebgan_jax import (algorithms, configs, data, evaluators as evaluation, losses, main, models, rundir, step as step_lib, train, trained)


def test_gan_discriminator_approaches_the_optimum_on_1d_gaussians():
  # p_data = N(0, 1), p_g = N(1, 1): D*(x) = p_data / (p_data + p_g) = sigmoid(0.5 - x).
  d = models.MLPDiscriminator(n_layers=2, size=32)
  params = d.init(jax.random.PRNGKey(0), jnp.zeros((2, 1)))
  opt = optax.adam(3e-3)
  opt_state = opt.init(params)

  @jax.jit
  def step(params, opt_state, key):
    k1, k2 = jax.random.split(key)
    real = jax.random.normal(k1, (512, 1))
    fake = 1.0 + jax.random.normal(k2, (512, 1))
    loss_fn = lambda p: jnp.mean(losses.gan_discriminator_loss(d.apply(p, real), d.apply(p, fake)))
    grads = jax.grad(loss_fn)(params)
    with jax.numpy_dtype_promotion("standard"):  # optax's int32 step count
      updates, opt_state = opt.update(grads, opt_state)
    return optax.apply_updates(params, updates), opt_state

  for i in range(1500):
    params, opt_state = step(params, opt_state, jax.random.PRNGKey(i))
  x = jnp.linspace(-1.5, 2.5, 41)[:, None]
  got = jax.nn.sigmoid(d.apply(params, x))
  np.testing.assert_allclose(got, jax.nn.sigmoid(0.5 - x[:, 0]), atol=0.06)


def small(name, **overrides):
  c = configs.load_config(name)
  mlp = {"model.size_g": 64, "model.size_d": 32} if c.model.arch == "mlp" else {}
  return configs.with_values(c, **{
      "num_steps": 40, "log_every": 10, "checkpoint_every": 20, "sample_every": 1000,
      "async_checkpoints": False, **mlp, **overrides})


@pytest.mark.slow  # BEGAN's controller state resumes bitwise in test_began's halved-rate test
def test_began_k_is_state_and_survives_a_checkpoint(tmp_path):
  # gamma = 1 so that k leaves 0 within a few steps (fakes start with lower energies)
  summary = train.train_and_evaluate(small("digits_began_paper", **{"began.gamma": 1.0}),
                                     str(tmp_path), progress=False)
  run = trained.load(str(tmp_path))
  k = float(run.state.controller["k"])
  # (the summary rounds to 5 decimals)
  assert 0.0 <= k <= 1.0 and k == pytest.approx(summary["k"], abs=1e-5) and k > 0
  resumed = train.train_and_evaluate(small("digits_began_paper", num_steps=41, **{"began.gamma": 1.0}),
                                     str(tmp_path), progress=False)
  # one more step moves k by at most lambda_k * (gamma L(x) + L(G(z))), from where it was
  assert abs(resumed["k"] - k) < 1e-3


def test_magan_margin_only_decreases_and_is_checkpointed(tmp_path):
  config = small("digits_magan", num_steps=28 * 8, log_every=28, checkpoint_every=28,
                 **{"magan.pretrain_steps": 56})
  train.train_and_evaluate(config, str(tmp_path), progress=False)
  rows = [r for r in rundir.read_metrics(str(tmp_path)) if "images_per_sec" in r]
  # pre-training to step 56, the measuring epoch to 84, then adaptation
  margins = [r["margin"] for r in rows if r["step"] >= 84]
  assert margins[0] != config.margin  # set from the mean real energy of the measuring epoch
  assert all(b <= a + 1e-7 for a, b in zip(margins, margins[1:]))
  assert float(trained.load(str(tmp_path)).state.controller["margin"]) == pytest.approx(margins[-1])
  # the generator was idle during pre-training: G's first logged loss is after it
  assert rows[0]["grad_norm_g"] > 0


def test_magan_generator_is_idle_while_pretraining(tmp_path):
  config = small("digits_magan", num_steps=28, **{"magan.pretrain_steps": 56})
  train.train_and_evaluate(config, str(tmp_path / "a"), progress=False)
  after = trained.load(str(tmp_path / "a")).state
  g, d = step_lib.build_models(config, (8, 8, 1))
  fresh = step_lib.create_state(config, g, d, (8, 8, 1))
  # The whole generator state: parameters, Adam's moments and count, BatchNorm statistics.
  assert len(jax.tree.leaves(after.g.opt_state)) > 3
  chex.assert_trees_all_equal(jax.tree.leaves(after.g), jax.tree.leaves(fresh.g))
  assert not all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(after.d.params),
                                                      jax.tree.leaves(fresh.d.params)))


def test_magan_measures_its_margin_over_an_epoch_without_training(tmp_path):
  config = small("digits_magan", num_steps=56, **{"magan.pretrain_steps": 56})
  train.train_and_evaluate(config, str(tmp_path / "a"), progress=False)
  measured = configs.with_values(config.copy_and_resolve_references(), num_steps=84)
  train.train_and_evaluate(measured, str(tmp_path / "b"), progress=False)
  a, b = trained.load(str(tmp_path / "a")).state, trained.load(str(tmp_path / "b")).state
  # neither network moved during the measuring epoch (steps 56 to 84)
  chex.assert_trees_all_equal(jax.tree.leaves(a.d), jax.tree.leaves(b.d))
  chex.assert_trees_all_equal(jax.tree.leaves(a.g), jax.tree.leaves(b.g))
  # and the margin is now the mean real energy of that epoch (the auto-encoder's level)
  rows = [r for r in rundir.read_metrics(str(tmp_path / "b")) if "images_per_sec" in r]
  energies = [r["energy_real"] for r in rows if 56 < r["step"] <= 84]
  assert float(b.controller["margin"]) == pytest.approx(np.mean(energies), rel=0.2)
  assert float(a.controller["margin"]) == config.margin


def test_vae_bound_improves_and_importance_weighting_tightens_it(tmp_path):
  config = small("digits_vae", num_steps=600, log_every=50, **{"vae.eval_importance_samples": 64,
                                                               "vae.eval_examples": 64})
  summary = train.train_and_evaluate(config, str(tmp_path), progress=False)
  rows = [r for r in rundir.read_metrics(str(tmp_path)) if "images_per_sec" in r]
  assert rows[-1]["elbo"] > rows[0]["elbo"] + 5  # nats
  run = trained.load(str(tmp_path))
  algorithm = algorithms.make_algorithm(config)
  x = np.asarray(algorithm.target(jnp.asarray(
      np.where(data.load_digits()[0][:64] > 0, 1.0, -1.0))))
  d_vars = {"params": run.state.d.params, "batch_stats": run.state.d.batch_stats}
  g_vars = {"params": run.state.g.params, "batch_stats": run.state.g.batch_stats}
  estimate = lambda k: evaluation.vae_log_likelihood(
      lambda xb: run.discriminator.apply(d_vars, algorithm.to_data(xb), train=False),
      lambda z: run.generator.apply(g_vars, z, train=False), algorithm.log_likelihood, x,
      num_samples=k, key=jax.random.PRNGKey(0), sample_chunk=k)
  ll = [estimate(k)["iw_log_likelihood"] for k in (1, 10, 100)]
  assert ll[0] < ll[1] < ll[2]
  assert summary["train_iw_log_likelihood"] >= summary["train_elbo_estimate"]
  # Scored on the 297 held-out digits as well, never trained on.
  assert summary["test_examples"] == 64
  assert summary["test_iw_log_likelihood"] >= summary["test_elbo_estimate"]


def test_iwae_with_one_sample_is_estimator_a_and_with_more_a_higher_bound():
  from ebgan_jax import step as step_lib
  from ebgan_jax.algorithms import StepSettings
  config = small("digits_vae")
  generator, encoder = step_lib.build_models(config, (8, 8, 1))
  state = step_lib.create_state(config, generator, encoder, (8, 8, 1))
  batch = jnp.asarray(np.where(data.load_digits()[0][:32] > 0, 1.0, -1.0))
  key = jax.random.PRNGKey(3)
  run = lambda **kw: algorithms.VAE(**kw).update(state, batch, key, StepSettings(),
                                                 lambda x: x)
  a, iwae = run(estimator="A", num_samples=1), run(estimator="iwae", num_samples=1)
  np.testing.assert_allclose(iwae.metrics["elbo"], a.metrics["elbo"], rtol=1e-6)
  chex.assert_trees_all_close(iwae.grads_g, a.grads_g, rtol=1e-5, atol=1e-6)
  # Averaged over keys, the k-sample bound is above the ELBO (Burda et al. 2016, Theorem 1).
  bound = lambda est, k: np.mean([float(algorithms.VAE(estimator=est, num_samples=k).update(
      state, batch, jax.random.PRNGKey(s), StepSettings(), lambda x: x).metrics["elbo"])
      for s in range(8)])
  assert bound("iwae", 50) > bound("A", 50) + 0.5


# In make test-slow: the PyTorch-GAN networks (test_models checks their layers), and the stacked
# digits with GAN and MAGAN (stacked_digits_ebgan_pt runs the same protocol; digits_magan the
# same controller).
_SLOW = pytest.mark.slow
EMBEDDED = ["digits_ebgan_pt", "digits_gan", "digits_began", "digits_magan", "digits_lsgan",
            "digits_vae", "toy_grid_ebgan", "toy_ring_gan", "toy_grid_gan",
            "toy_grid_began", pytest.param("pytorch_gan_ebgan", marks=_SLOW),
            "stacked_digits_ebgan_pt", pytest.param("stacked_digits_gan", marks=_SLOW),
            pytest.param("stacked_digits_magan", marks=_SLOW)]
# digits_bihm, digits_ln and digits_ebgan_ln train in tests/test_bihm.py and test_ladder.py;
# toy_ring_ebgan from the command line in tests/test_robustness.py (main.main, many times).


@pytest.mark.parametrize("name", EMBEDDED)
def test_every_embedded_experiment_runs_from_the_command_line(tmp_path, name):
  magan = name.endswith("magan")  # whole 28-step epochs: pre-training, then one measured
  steps = "56" if magan else "4"
  args = ["--config", name, "--workdir", str(tmp_path), "--no_progress",
          f"--config.num_steps={steps}", "--config.log_every=2", "--config.sample_every=1000",
          "--config.batch_size=16"]
  if magan:
    args.append("--config.magan.pretrain_steps=28")
  if name == "pytorch_gan_ebgan":
    # One step per call: its four-step unrolled program takes 1.3 GB and 15 s more to compile;
    # several steps per call equal single steps (test_train).
    args.append("--config.steps_per_dispatch=1")
  assert main.main(args) == 0
  assert (tmp_path / "samples_final.png").exists()


# celeba_ebgan trains on the same mock data in tests/test_notebooks.py (its notebook, in make
# test-slow). The Ladder Networks' MNIST runs are in make test-slow too: test_ladder trains both
# on the digits, and the mock MNIST pipeline is the other mnist_* runs'.
@pytest.mark.parametrize("name", ["mnist_ebgan", "mnist_vae", "mnist_bihm",
                                  pytest.param("mnist_ln", marks=_SLOW),
                                  pytest.param("mnist_ebgan_ln", marks=_SLOW), "celeba_began",
                                  "lsun_ebgan"])
def test_tfds_experiments_run_on_mock_data(tmp_path, name):
  args = ["--config", name, "--workdir", str(tmp_path / "run"), "--no_progress",
          "--config.num_steps=2", "--config.log_every=1", "--config.sample_every=1000",
          "--config.batch_size=4", f"--config.data.data_dir={tmp_path}", "--config.num_samples=4"]
  if name.startswith("mnist"):
    args += ["--config.model.size_g=32", "--config.model.size_d=32"]
  if name == "mnist_vae":
    args += ["--config.vae.eval_importance_samples=4", "--config.vae.eval_examples=4"]
  if name == "mnist_bihm":
    args += ["--config.model.sbn_sizes=(8,4)", "--config.latent_dim=12",
             "--config.bihm.eval_samples=4", "--config.bihm.eval_examples=4",
             "--config.bihm.partition_samples=8", "--config.bihm.partition_inner_samples=2"]
  if name.startswith(("celeba", "lsun")):
    args += ["--config.model.features_g=8", "--config.model.features_d=8"]
  if name.endswith("_ln"):  # one labelled example per class, small layers
    args += ["--config.ln.labels=10", "--config.model.ladder_sizes=(16,10)"]
  with tfds.testing.mock_data(num_examples=100 if name.endswith("_ln") else 8):
    assert main.main(args) == 0
  assert (tmp_path / "run" / "samples_final.png").exists() == (name != "mnist_ln")
  summary = json.loads((tmp_path / "run" / "summary.json").read_text())
  if name == "mnist_bihm":  # scored on 4 examples of the test split
    assert summary["eval_examples"] == 4 and summary["log_likelihood"] < 0
  if name == "mnist_vae":
    assert summary["test_examples"] == 4
  if name.endswith("_ln"):  # scored on the mock test split
    assert summary["labels"] == 10 and summary["test_examples"] == 100


def test_magan_released_networks_against_numpy_and_its_energy_is_the_sum_of_squares():
  config = configs.load_config("digits_magan_released")
  g, d = step_lib.build_models(config, (28, 28, 1))
  assert isinstance(g, models.MAGANGenerator) and isinstance(d, models.SigmoidAutoEncoder)
  x = jax.random.uniform(jax.random.PRNGKey(0), (3, 28, 28, 1), minval=-1.0, maxval=1.0)
  d_vars = d.init(jax.random.PRNGKey(1), x)
  rec, code = d.apply(d_vars, x)
  # 784-256-256-784 on [0, 1]: ReLU, ReLU, sigmoid
  p = {k: {n: np.asarray(v, np.float64) for n, v in layer.items()}
       for k, layer in d_vars["params"].items()}
  h = (np.asarray(x, np.float64).reshape(3, -1) + 1.0) / 2.0
  for name in ("Dense_0", "Dense_1"):
    h = np.maximum(h @ p[name]["kernel"] + p[name]["bias"], 0.0)
  out = 1.0 / (1.0 + np.exp(-(h @ p["Dense_2"]["kernel"] + p["Dense_2"]["bias"])))
  assert [p[k]["kernel"].shape for k in sorted(p)] == [(784, 256), (256, 256), (256, 784)]
  np.testing.assert_allclose(np.asarray(code), h, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(np.asarray(rec).reshape(3, -1), 2.0 * out - 1.0, atol=1e-5)
  # the energy: energy_scale x the mean squared error on [-1, 1] is the released sum of
  # squared errors on [0, 1]
  algorithm = algorithms.make_algorithm(config)
  sse = np.sum(((np.asarray(rec) + 1) / 2 - (np.asarray(x) + 1) / 2) ** 2, axis=(1, 2, 3))
  np.testing.assert_allclose(algorithm.energy(x, (rec, code)), sse, rtol=1e-5)
  # the generator: no BatchNorm, a 7x7x128 map, images on [-1, 1] from a sigmoid
  z = jax.random.normal(jax.random.PRNGKey(2), (4, 50))
  g_vars = g.init(jax.random.PRNGKey(3), z)
  assert "batch_stats" not in g_vars
  assert g_vars["params"]["Dense_0"]["kernel"].shape == (50, 7 * 7 * 128)
  images = g.apply(g_vars, z)
  assert images.shape == (4, 28, 28, 1) and -1 < float(images.min()) < float(images.max()) < 1
