"""Super-resolution through the runner: the ``g`` network maps an LR image to its HR image.

The data are HR patches (``data.name="natural_images"``, or ``"div2k"`` where TFDS has it); each step makes their LR inputs with
the project's one degradation operator ``U`` (:func:`ebgan_jax.evaluators.superres.downsample`),
so the pairs are exact and nothing else is stored. ``superres.loss``:

- ``"mse"``: ``min_theta sum_i ||Phi(x_i; theta) - y_i||^2`` (Bruna, Sprechmann & LeCun 2016,
  eq. 1), the conditional mean; the ``d`` network is built but never trained.
- ``"stats"``: the sufficient-statistics model (ibid., §3-4): the network predicts the
  scattering statistics of the HR image (:func:`ebgan_jax.statistics.scattering`,
  ``model.outputs="statistics"``) for mean-squared error, and an HR image is synthesised by
  matching them under the consistency term (:func:`ebgan_jax.statistics.synthesize`,
  ``superres.synthesis_steps`` Adam steps from the bicubic upsampling, weight
  ``superres.consistency``). ``superres.features="cnn"`` matches the statistics of a
  convolutional network's features instead (ibid., §3.2, VGG's there;
  :func:`ebgan_jax.statistics.cnn_statistics`): the ``d`` network, fed HR images alone, is an
  auto-encoder trained on the training patches for the first ``superres.feature_steps``
  updates and fixed after them; its first layer's activations are the features
  (``model.outputs="features"``).
- ``"ebgan"``: a conditional EBGAN (ibid., §1: model p(y | x), not its mean; Zhao, Mathieu &
  LeCun 2017, §2). The generator ``G(x, z)`` (``model.noise`` channels of ``z ~ N(0, 1)``)
  draws ``superres.samples`` HR images per LR input; the ``d`` network is an auto-encoder on
  the pair ``(y, bicubic(x))`` whose mean squared reconstruction error is the energy. D
  minimises ``D(y, x) + [m - D(G(x, z), x)]^+`` (margin ``config.margin``); G minimises
  ``D(G(x, z), x)``, plus ``config.pt_weight`` times the pulling-away term on the codes of its
  samples, plus ``superres.consistency`` times ``||U(G(x, z)) - x||^2`` (means), which keeps
  every sample an explanation of its input. No pixel loss against the HR image is used.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from ebgan_jax import losses, statistics
from ebgan_jax.algorithms.base import Algorithm, Array, Update, f32
from ebgan_jax.evaluators import superres as sr


# The draws per image that diversity is measured over (the noisy generator's).
DIVERSITY_SAMPLES = 8


def with_noise(x: np.ndarray, noise: int, seed: int) -> np.ndarray:
  """An LR image ``[h, w, 3]`` with ``noise`` channels of ``z ~ N(0, 1)`` drawn from ``seed``
  appended (unchanged for ``noise = 0``): the input of :meth:`SuperResolution.super_resolve_fn`
  for a noisy generator. ``z`` covers the whole image, so tiling it changes nothing."""
  if not noise:
    return x
  z = np.random.default_rng(seed).standard_normal(x.shape[:2] + (noise,)).astype(np.float32)
  return np.concatenate([np.asarray(x, np.float32), z], axis=-1)


def to_unit(batch: jax.Array) -> jax.Array:
  """Data in [-1, 1] to images in [0, 1]."""
  return (batch + 1.0) / 2.0


@dataclasses.dataclass(frozen=True)
class SuperResolution(Algorithm):
  name = "superres"
  title = "Super-resolution"
  generative = False
  progress_metrics = ("mse", "psnr")
  # loss: "mse". eval_images: the validation images scored at the end of a run (0: none).
  # samples: the generator's draws per LR input in a training step (loss="ebgan").
  # features: "scattering" or "cnn" (loss="stats"); feature_steps: the updates that train the
  # feature network ("cnn"), fixed after them.
  config_block = {"loss": "mse", "eval_images": 2, "synthesis_steps": 100,
                  "consistency": 100.0, "samples": 2, "features": "scattering",
                  "feature_steps": 2000}
  scale: int = 4
  loss: str = "mse"
  synthesis_steps: int = 100
  consistency: float = 100.0
  samples: int = 2
  noise: int = 0
  features: str = "scattering"
  feature_steps: int = 2000

  @classmethod
  def from_config(cls, config):
    s = config.superres
    return cls(scale=int(config.model.scale), loss=s.loss,
               synthesis_steps=int(s.synthesis_steps), consistency=float(s.consistency),
               samples=int(s.samples), noise=int(config.model.noise), features=s.features,
               feature_steps=int(s.feature_steps))

  @staticmethod
  def validate(config):
    if config.superres.loss not in ("mse", "stats", "ebgan"):
      raise ValueError(f"config.superres.loss must be 'mse', 'stats' or 'ebgan', got "
                       f"{config.superres.loss!r}.")
    if config.superres.samples < 1:
      raise ValueError(f"config.superres.samples must be at least 1, got "
                       f"{config.superres.samples}.")
    if config.data.name not in ("natural_images", "div2k"):
      raise ValueError(f"algorithm='superres' trains on photographs: data.name must be "
                       f"'natural_images' or 'div2k', got {config.data.name!r}.")
    if config.model.arch != "superres":
      raise ValueError("algorithm='superres' needs model.arch='superres'.")
    if config.superres.features not in ("scattering", "cnn"):
      raise ValueError(f"config.superres.features must be 'scattering' or 'cnn', got "
                       f"{config.superres.features!r}.")
    wants = ("image" if config.superres.loss != "stats" else
             "features" if config.superres.features == "cnn" else "statistics")
    if config.model.outputs != wants:
      raise ValueError(f"superres.loss={config.superres.loss!r} (features "
                       f"{config.superres.features!r}) needs model.outputs={wants!r}, got "
                       f"{config.model.outputs!r}.")
    side = config.data.image_size
    if side and side % (4 * config.model.scale):
      raise ValueError(f"data.image_size={side} must be a multiple of 4 x model.scale "
                       f"({4 * config.model.scale}) for the LR patch and the pair energy.")

  def init_controller(self, config):
    if self.loss != "ebgan":
      return {}
    return {"margin": f32(config.margin), "pt_weight": f32(config.pt_weight)}

  def example_inputs(self, config, data_shape):
    h, w, _ = data_shape
    # The energy of the EBGAN sees (HR, bicubic LR) pairs; the feature network HR images.
    return (jnp.zeros((2, h // self.scale, w // self.scale, 3)),
            jnp.zeros((2, h, w, 3 if self.cnn_features else 6)))

  @property
  def cnn_features(self) -> bool:
    return self.loss == "stats" and self.features == "cnn"

  def feature_statistics(self, discriminator_apply, d_vars) -> Callable[[Array], Array]:
    """``y -> Phi(y)``: the CNN features' statistics under the feature network ``d_vars``."""
    return lambda y: statistics.cnn_statistics(
        y, lambda t: discriminator_apply(d_vars, t, first_layer=True))

  def update(self, state, batch, key, settings, shard_batch):
    y = to_unit(batch)
    x = sr.downsample(y, self.scale)
    if self.loss == "ebgan":
      return self._ebgan_update(state, y, x, key)
    g, d = state.g, state.d
    metrics = {}
    d_grads, loss_d = jax.tree.map(jnp.zeros_like, d.params), f32(0.0)
    skip = 0.0
    if self.cnn_features:
      # The feature network: an auto-encoder of the HR patches, trained for its first
      # feature_steps updates and fixed after them, so the statistics stop moving.
      def ae_loss(params):
        (rec, _), stats = d.apply_fn({"params": params, "batch_stats": d.batch_stats}, y,
                                     train=True, mutable=["batch_stats"])
        return jnp.mean(jnp.square(rec - y)), stats.get("batch_stats", {})
      (loss_d, d_stats), d_grads = jax.value_and_grad(ae_loss, has_aux=True)(d.params)
      learning = state.step < self.feature_steps
      trained = d.apply_gradients(grads=d_grads).replace(batch_stats=d_stats)
      d = jax.tree.map(lambda new, old: jnp.where(learning, new, old), trained, d)
      phi = self.feature_statistics(d.apply_fn, {"params": d.params,
                                                 "batch_stats": d.batch_stats})
      target = jax.lax.stop_gradient(phi(y))
      skip = jax.lax.stop_gradient(phi(sr.upsample_bicubic(x, self.scale)))
      metrics["reconstruction_mse"] = loss_d
    else:
      target = statistics.scattering(y) if self.loss == "stats" else y

    def loss_fn(params):
      out, stats = g.apply_fn({"params": params, "batch_stats": g.batch_stats}, x, train=True,
                              mutable=["batch_stats"], rngs={"noise": key})
      mse = jnp.mean(jnp.square(skip + out - target))
      return mse, stats.get("batch_stats", {})

    (mse, g_stats), g_grads = jax.value_and_grad(loss_fn, has_aux=True)(g.params)
    g = g.apply_gradients(grads=g_grads).replace(batch_stats=g_stats)
    metrics.update({"mse": mse, "psnr": -10.0 * jnp.log10(mse), "loss_d": loss_d,
                    "loss_g": mse})
    return Update(g, d, state.controller, metrics, loss_d, mse, d_grads, g_grads)

  def pair_energy(self, d, params, y, up):
    """Per-example energy of HR images ``y`` given the bicubic upsampling ``up`` of their LR
    inputs, the auto-encoder's codes, and its updated BatchNorm statistics (none here)."""
    pair = jnp.concatenate([y, up], axis=-1)
    (rec, code), stats = d.apply_fn({"params": params, "batch_stats": d.batch_stats}, pair,
                                    train=True, mutable=["batch_stats"])
    return losses.reconstruction_energy(pair, rec), code, stats.get("batch_stats", {})

  def _ebgan_update(self, state, y, x, key):
    g, d, controller = state.g, state.d, state.controller
    s = self.samples
    xs = jnp.repeat(x, s, axis=0)  # sample j of input i is row i * s + j
    up = sr.upsample_bicubic(x, self.scale)
    ups = jnp.repeat(up, s, axis=0)

    def generate(params):
      out, stats = g.apply_fn({"params": params, "batch_stats": g.batch_stats}, xs, train=True,
                              mutable=["batch_stats"], rngs={"noise": key})
      return out, stats.get("batch_stats", {})

    fake = jax.lax.stop_gradient(generate(g.params)[0])

    def d_loss_fn(params):
      e_real, _, stats = self.pair_energy(d, params, y, up)
      e_fake, _, _ = self.pair_energy(d, params, fake, ups)
      # Each real pair against each of its input's samples: D(y) + mean_j [m - D(G(x, z_j))]^+.
      per_sample = jax.vmap(
          lambda e: losses.ebgan_discriminator_loss(e_real, e, margin=controller["margin"]),
          in_axes=1)(e_fake.reshape(-1, s))
      loss = jnp.mean(per_sample)
      return loss, (stats, e_real, e_fake)

    (loss_d, (d_stats, e_real, e_fake)), d_grads = jax.value_and_grad(
        d_loss_fn, has_aux=True)(d.params)
    d = d.apply_gradients(grads=d_grads).replace(batch_stats=d_stats)

    def g_loss_fn(params):
      out, stats = generate(params)  # the same z: the same key
      energy, code, _ = self.pair_energy(d, d.params, out, ups)
      pt = losses.pulling_away_term(code)
      consistency = jnp.mean(jnp.square(sr.downsample(out, self.scale) - xs))
      loss = (jnp.mean(losses.ebgan_generator_loss(energy)) + controller["pt_weight"] * pt
              + self.consistency * consistency)
      return loss, (stats, out, energy, pt, consistency)

    (loss_g, (g_stats, out, e_gen, pt, consistency)), g_grads = jax.value_and_grad(
        g_loss_fn, has_aux=True)(g.params)
    g = g.apply_gradients(grads=g_grads).replace(batch_stats=g_stats)
    mse = jnp.mean(jnp.square(out - jnp.repeat(y, s, axis=0)))
    spread = (jnp.mean(jnp.std(out.reshape((-1, s) + out.shape[1:]), axis=1)) if s > 1
              else f32(0.0))
    metrics = {"loss_d": loss_d, "loss_g": loss_g, "energy_real": jnp.mean(e_real),
               "energy_fake": jnp.mean(e_fake), "energy_fake_g": jnp.mean(e_gen), "pt": pt,
               "consistency_mse": consistency, "mse": mse, "psnr": -10.0 * jnp.log10(mse),
               "diversity": spread}
    return Update(g, d, controller, metrics, loss_d, loss_g, d_grads, g_grads)

  @staticmethod
  def variables(state) -> dict[str, Any]:
    """What :meth:`super_resolve_fn` reads of a state: both networks' variables."""
    return {m: {"params": getattr(state, m).params, "batch_stats": getattr(state, m).batch_stats}
            for m in ("g", "d")}

  def super_resolve_fn(self, generator, discriminator):
    """``(variables, x [B, h, w, 3 + noise]) -> y [B, sh, sw, 3]`` in [0, 1], jitted, with
    ``variables`` from :meth:`variables`: channels after the third are the noise ``z`` of a
    noisy network (:func:`with_noise`); the statistics model synthesises from its predicted
    statistics (those of the feature network ``d`` for ``superres.features="cnn"``)."""
    if self.noise:
      return jax.jit(lambda v, xz: jnp.clip(generator.apply(
          v["g"], xz[..., :3], train=False, z=xz[..., 3:]), 0.0, 1.0))
    if self.loss == "stats":
      def synthesise(v, x):
        up = sr.upsample_bicubic(x, self.scale)
        predicted = generator.apply(v["g"], x, train=False)
        phi = statistics.scattering
        if self.cnn_features:
          phi = self.feature_statistics(discriminator.apply, v["d"])
          predicted = predicted + phi(up)
        return statistics.synthesize(predicted, x, self.scale, up, steps=self.synthesis_steps,
                                     consistency=self.consistency, statistics=phi)
      return jax.jit(synthesise)
    return jax.jit(lambda v, x: jnp.clip(generator.apply(v["g"], x, train=False), 0.0, 1.0))

  def evaluate(self, config, networks, state, dataset):
    """PSNR-Y, SSIM-Y, consistency and detail ratio on the first ``superres.eval_images``
    validation images (never trained on), with bicubic's PSNR-Y beside them."""
    from ebgan_jax.data import natural
    n = config.superres.eval_images
    if not n:
      return {}
    resolve = self.super_resolve_fn(*networks)
    variables = self.variables(state)
    rows = []
    for image in natural.images(config.data, "validation", n).values():
      hr, x = sr.degrade(image, self.scale)
      draws = [sr.tiled(lambda t: resolve(variables, t), with_noise(x, self.noise, seed),
                        self.scale) for seed in range(DIVERSITY_SAMPLES if self.noise else 1)]
      out = draws[0]
      row = sr.scores(out, hr, x, self.scale)
      if self.noise:
        row["diversity"] = sr.diversity(np.stack([sr.to_uint8(o) / 255.0 for o in draws]))
      row["bicubic_psnr_y"] = sr.psnr_y(
          sr.to_uint8(sr.upsample_bicubic(jnp.asarray(x), self.scale)), sr.to_uint8(hr),
          self.scale)
      rows.append(row)
    return {"val_" + k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
