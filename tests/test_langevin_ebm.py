"""The Langevin EBM (negatives by the argmax route): its step against a reference written from
the update rule and EBGAN's margin loss, its sampler, a run through the runner, its refusals,
and the comparison study's selection and page."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ebgan_jax import configs, sampling, step as step_lib, train, trained
from ebgan_jax.algorithms import make_algorithm
from ebgan_jax.state import sample_latent
from ebgan_jax.studies import energy_argmax


def _config(**overrides):
  return configs.with_values(configs.toy_config("ring", "langevin"), **{
      "model.size_d": 16, "model.size_g": 8, "batch_size": 8, "langevin.steps": 3,
      "langevin.step_size": 0.05, "langevin.noise": 0.5, **overrides})


def test_the_step_trains_the_energy_on_langevin_negatives_with_the_margin_loss():
  config = _config()
  configs.validate(config)
  g, d = step_lib.build_models(config, (2,))
  state = step_lib.create_state(config, g, d, (2,))
  batch = jnp.asarray(np.random.default_rng(0).normal(size=(8, 2)), jnp.float32)
  new, metrics = jax.jit(step_lib.make_train_step(config))(state, batch)

  # The reference: the step's key, its four streams, the chains from the scaled noise.
  key = jax.random.fold_in(state.key, state.step)
  k_z, k_chain, _, _ = jax.random.split(key, 4)
  start = sample_latent(k_z, 8, 2, "uniform") * config.langevin.init_scale
  energy = lambda p, x: jnp.mean(jnp.square(d.apply({"params": p}, x, train=False)[0] - x),
                                 axis=-1)
  negatives = start
  for k in range(3):  # x <- clip(x - (eps/2) dE/dx + noise sqrt(eps) N(0, I))
    grad = jax.grad(lambda x: jnp.sum(energy(state.d.params, x)))(negatives)
    eta = jax.random.normal(jax.random.fold_in(k_chain, k), negatives.shape)
    negatives = jnp.clip(negatives - 0.025 * grad + 0.5 * np.sqrt(0.05) * eta, -2.0, 2.0)
  loss = lambda p: jnp.mean(energy(p, batch)) + jnp.mean(
      jax.nn.relu(config.margin - energy(p, negatives)))
  np.testing.assert_allclose(float(metrics["loss_d"]), float(loss(state.d.params)), rtol=1e-5)
  np.testing.assert_allclose(float(metrics["energy_fake"]),
                             float(jnp.mean(energy(state.d.params, negatives))), rtol=1e-5)
  grads = jax.grad(loss)(state.d.params)
  expected = state.d.apply_gradients(grads=grads).params
  for a, b in zip(jax.tree.leaves(new.d.params), jax.tree.leaves(expected)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-7)
  # Nothing trains the generator slot.
  for a, b in zip(jax.tree.leaves(new.g), jax.tree.leaves(state.g)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_samples_are_chains_down_the_energy_from_the_latents(tmp_path):
  config = _config(**{"num_steps": 20, "log_every": 10, "checkpoint_every": 20,
                      "sample_every": 20, "eval_every": 20, "async_checkpoints": False,
                      "langevin.eval_steps": 30, "langevin.noise": 0.0})
  summary = train.train_and_evaluate(config, str(tmp_path), progress=False)
  assert summary["steps"] == 20 and 0 <= summary["modes_covered"] <= 8
  assert (tmp_path / "samples_final.png").exists()
  run = trained.load(str(tmp_path))
  z = sample_latent(jax.random.PRNGKey(3), 64, 2, "uniform")
  samples = np.asarray(run.sampler()(run.state, z))
  np.testing.assert_array_equal(samples, run.sampler()(run.state, z))  # same z, same samples
  algorithm = make_algorithm(run.config)
  energy = lambda x: algorithm.energy(x, run.discriminator.apply(
      {"params": run.state.d.params}, x, train=False))
  start = np.asarray(z) * 2.0
  # Noise-free chains of 30 steps descend: the samples' energy is below their starts'.
  assert float(jnp.mean(energy(jnp.asarray(samples)))) < float(jnp.mean(energy(start)))
  assert np.abs(samples).max() <= 2.0 and not np.allclose(samples, start)


@pytest.mark.parametrize("overrides,message", [
    ({"latent_dim": 16}, "latent_dim must be the size of one example \\(2\\)"),
    ({"pt_weight": 0.1}, "set config.pt_weight=0"),
    ({"pack": 2}, "config.pack, config.d_steps and config.g_steps must be 1"),
    ({"langevin.step_size": 0.0}, "step_size > 0"),
])
def test_settings_that_cannot_work_are_one_line(overrides, message):
  with pytest.raises(ValueError, match=message):
    configs.validate(configs.with_values(_config(), **overrides))


def test_the_study_chooses_by_its_rule_on_validation_seeds_and_renders_from_json():
  members = lambda modes, hq: [{"member": f"seed={s}", "modes_covered": m, "high_quality": hq,
                                "reverse_kl": 0.1} for s, m in zip((100, 101), modes)]
  validation = [{"step_size": 0.1, "noise": 0.1, "start": "noise", "steps": 10,
                 "members": members((6, 6), 0.9)},
                {"step_size": 1.0, "noise": 0.1, "start": "buffer", "steps": 10,
                 "members": members((7, 7), 0.1)},
                {"step_size": 10.0, "noise": 0.1, "start": "noise", "steps": 10,
                 "members": members((7, 7), 0.2)}]
  # Most modes first, then high quality.
  assert energy_argmax.chosen("ring", validation) == {"step_size": 10.0, "noise": 0.1,
                                                      "start": "noise"}
  digits = [{"step_size": e, "noise": 0.1, "start": "noise",
             "members": [{"frechet_distance": fd}]} for e, fd in ((0.1, 9.0), (1.0, float("nan")),
                                                                 (10.0, 4.0))]
  assert energy_argmax.chosen("digits", digits)["step_size"] == 10.0
  held = lambda modes: [{"member": f"seed={s}", "modes_covered": m, "high_quality": 0.5,
                         "reverse_kl": 0.2} for s, m in enumerate(modes)]
  reported = [{"model": "EBGAN-PT (generator)", "steps": 10, "seconds": 10.0,
               "evaluations_per_negative": energy_argmax._evaluations(
                   energy_argmax.generator_config("ring")), "members": held((4, 5, 6))},
              {"model": "EBM (Langevin)", "steps": 10, "seconds": 30.0,
               "evaluations_per_negative": energy_argmax._evaluations(
                   energy_argmax.langevin_config("ring", 10.0, 0.1, "noise")),
               "members": held((7, 8, 8))}]
  page = "\n".join(energy_argmax.section({
      "setup": energy_argmax.ARGMAX, "seeds": 3,
      "datasets": [{"dataset": "ring", "validation": validation,
                    "chosen": energy_argmax.chosen("ring", validation), "reported": reported}]}))
  assert "| EBM − EBGAN-PT (paired) | +2.67 ± 0.33 (higher) |" in page
  assert "20 energy forward + 20 backward" in page and "3.0× the time" in page
  assert "on the ring, EBM (Langevin) better in modes (no difference in the others)" in page
  assert "better on the ring: on data this small" in page


def test_every_compared_config_is_valid_and_shares_the_energy_network():
  for dataset in energy_argmax.ARGMAX["datasets"]:
    gen = energy_argmax.generator_config(dataset)
    for setting in energy_argmax.settings():
      ebm = energy_argmax.langevin_config(dataset, **setting)
      configs.validate(ebm)
      network = lambda c: (c.model.arch, c.model.n_layers_d, c.model.size_d)
      assert (network(ebm), ebm.margin, ebm.batch_size, ebm.num_steps,
              ebm.optimizer.lr_d, ebm.energy_norm) == (
          network(gen), gen.margin, gen.batch_size, gen.num_steps, gen.optimizer.lr_d,
          gen.energy_norm)
      assert ebm.langevin.steps == energy_argmax.ARGMAX["chain_steps"]
