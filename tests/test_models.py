"""Model shapes, the sub-pixel identity, and the PyTorch-GAN networks' sizes."""

import math

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ebgan_jax import configs, models


def test_subpixel_equals_upsample_then_conv():
  key = jax.random.PRNGKey(0)
  x = jax.random.normal(key, (2, 5, 7, 3))
  kernel = jax.random.normal(jax.random.fold_in(key, 1), (3, 3, 3, 4))
  bias = jax.random.normal(jax.random.fold_in(key, 2), (4,))
  fast = models.upsample_conv_subpixel(x, kernel, bias)
  plain = models.upsample_conv_resize(x, kernel, bias)
  chex.assert_shape(fast, (2, 10, 14, 4))
  np.testing.assert_allclose(fast, plain, rtol=1e-5, atol=1e-5)
  # and the gradients with respect to input and kernel agree too
  f = lambda fn: jax.grad(lambda xx, kk: jnp.sum(jnp.sin(fn(xx, kk, bias))), argnums=(0, 1))(x, kernel)
  for a, b in zip(f(models.upsample_conv_subpixel), f(models.upsample_conv_resize)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def _numpy_conv_transpose(x, kernel):
  """Stride-2 'SAME' transposed convolution as Flax defines it (the dilated input correlated
  with the unflipped kernel), written as a scatter: input pixel (i, j) adds
  ``x[i, j] @ kernel[t, u]`` to output ``(2i - t + p, 2j - u + p)``, ``p = ceil(k / 2)``."""
  b, h, w, c = x.shape
  k, _, _, f = kernel.shape
  p = -(-k // 2)
  out = np.zeros((b, 2 * h, 2 * w, f))
  for i in range(h):
    for j in range(w):
      for t in range(k):
        for u in range(k):
          oi, oj = 2 * i - t + p, 2 * j - u + p
          if 0 <= oi < 2 * h and 0 <= oj < 2 * w:
            out[:, oi, oj] += x[:, i, j] @ kernel[t, u]
  return out


@pytest.mark.parametrize("k", [4, 5])
def test_subpixel_transposed_convolution_is_flax_conv_transpose(k):
  rng = np.random.default_rng(k)
  x = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
  layer = models.ConvTranspose(6, k)
  variables = layer.init(jax.random.PRNGKey(0), jnp.asarray(x))
  flax_layer = nn.ConvTranspose(6, (k, k), strides=(2, 2), padding="SAME")
  # the same parameters, initialised to the same values, as Flax's own layer
  chex.assert_trees_all_equal(variables, flax_layer.init(jax.random.PRNGKey(0), jnp.asarray(x)))
  variables = {"params": {"kernel": jnp.asarray(rng.normal(size=(k, k, 5, 6)), jnp.float32),
                          "bias": jnp.asarray(rng.normal(size=6), jnp.float32)}}
  expected = _numpy_conv_transpose(x, np.asarray(variables["params"]["kernel"], np.float64))
  expected += np.asarray(variables["params"]["bias"])
  for layer in (models.ConvTranspose(6, k), models.ConvTranspose(6, k, method="resize"),
                flax_layer):
    np.testing.assert_allclose(layer.apply(variables, jnp.asarray(x)), expected, rtol=1e-5,
                               atol=1e-5)
  # and the gradients of the two methods agree
  grads = [jax.grad(lambda v, xx: jnp.sum(jnp.sin(models.ConvTranspose(6, k, method=m).apply(
      v, xx))), argnums=(0, 1))(variables, jnp.asarray(x)) for m in ("subpixel", "resize")]
  chex.assert_trees_all_close(*grads, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("side", [9, 7, 4, 2])  # 4 and 2: outputs of 4 and 1 pixels (im2col)
def test_same_padded_strided_conv_is_flax_conv(side):
  x = jnp.asarray(np.random.default_rng(side).normal(size=(2, side, side, 6)), jnp.float32)
  flax_layer = nn.Conv(5, (5, 5), strides=2, padding="SAME")
  variables = flax_layer.init(jax.random.PRNGKey(0), x)
  layer = models.Conv(5, 5, stride=2, padding="SAME")
  chex.assert_trees_all_equal(variables, layer.init(jax.random.PRNGKey(0), x))
  variables = jax.tree.map(lambda v: v + 0.1, variables)  # a nonzero bias
  np.testing.assert_allclose(layer.apply(variables, x), flax_layer.apply(variables, x),
                             rtol=1e-5, atol=1e-5)
  grad = lambda module: jax.grad(lambda v, xx: jnp.sum(jnp.sin(module.apply(v, xx))),
                                 argnums=(0, 1))(variables, x)
  chex.assert_trees_all_close(grad(layer), grad(flax_layer), rtol=1e-4, atol=1e-4)


def _init_apply(module, x, **kw):
  variables = module.init(jax.random.PRNGKey(0), x, train=False)
  out, _ = module.apply(variables, x, train=True, mutable=["batch_stats"],
                        rngs={"dropout": jax.random.PRNGKey(1)})
  return variables, out


@pytest.mark.parametrize("arch,shape", [
    ("mlp", (8, 8, 1)), ("mlp", (2,)), ("small_conv", (8, 8, 1)), ("small_conv", (32, 32, 3)),
    ("dcgan", (16, 16, 3)), ("pytorch_gan", (16, 16, 1))])
def test_pairs_produce_data_shapes(arch, shape):
  cfg = configs.base_config().model
  cfg.arch = arch
  cfg.size_g, cfg.size_d, cfg.features_g, cfg.features_d = 32, 16, 8, 8
  g, d = models.make_models(cfg, shape)
  _, fake = _init_apply(g, jnp.zeros((3, 5)))
  chex.assert_shape(fake, (3,) + shape)
  _, (rec, code) = _init_apply(d, fake)
  chex.assert_shape(rec, (3,) + shape)
  assert code.shape[0] == 3


def test_paper_autoencoder_layers_at_64():
  d = models.PaperAutoEncoder((64, 64, 3))
  variables, (rec, code) = _init_apply(d, jnp.zeros((2, 64, 64, 3)))
  chex.assert_shape(rec, (2, 64, 64, 3))
  chex.assert_shape(code, (2, 8, 8, 256))  # (64)4c2s-(128)4c2s-(256)4c2s
  g = models.DCGANGenerator((64, 64, 3))
  _, fake = _init_apply(g, jnp.zeros((2, 100)))
  chex.assert_shape(fake, (2, 64, 64, 3))


def _count(tree):
  return sum(math.prod(p.shape) for p in jax.tree.leaves(tree))


def test_pytorch_gan_networks_have_the_reference_sizes():
  # Parameter counts of PyTorch-GAN's ebgan.py at 32x32x1, latent 62, computed layer by layer.
  g_expected = (62 * 8192 + 8192) + (9 * 128 * 128 + 128) + 256 + (9 * 128 * 64 + 64) + 128 + (9 * 64 + 1)
  d_expected = (9 * 64 + 64) + (16384 * 32 + 32) + 64 + (32 * 16384 + 16384) + 2 * 16384 + (9 * 64 + 1)
  g, d = models.PyTorchGANGenerator((32, 32, 1)), models.PyTorchGANAutoEncoder((32, 32, 1))
  g_vars, _ = _init_apply(g, jnp.zeros((2, 62)))
  d_vars, (rec, code) = _init_apply(d, jnp.zeros((2, 32, 32, 1)))
  assert _count(g_vars["params"]) == g_expected
  assert _count(d_vars["params"]) == d_expected
  chex.assert_shape(code, (2, 32))


@pytest.mark.parametrize("arch,shape,needs", [
    ("small_conv", (10, 10, 1), "multiple of 4"), ("dcgan", (48, 48, 3), "power of two"),
    ("pytorch_gan", (2,), r"\[H, W, C\]"), ("resnet", (8, 8, 1), "unknown model.arch")])
def test_shapes_a_model_cannot_take_are_clear_errors(arch, shape, needs):
  cfg = configs.base_config().model
  cfg.arch = arch
  with pytest.raises(ValueError, match=needs):
    models.make_models(cfg, shape)


@pytest.mark.parametrize("c,f,stride,k", [(1, 8, 2, 3), (1, 6, 1, 3), (8, 1, 1, 3), (8, 4, 1, 2),
                                          (6, 5, 2, 3), (5, 7, 1, 3)])
def test_conv2d_formulations_equal_the_library_convolution(c, f, stride, k):
  key = jax.random.PRNGKey(c * 100 + f)
  x = jax.random.normal(key, (2, 9, 8, c))
  kernel = jax.random.normal(jax.random.fold_in(key, 1), (k, k, c, f))
  pad = ((1, 1), (1, 0))

  def ref(xx, kk):
    return jax.lax.conv_general_dilated(xx, kk, (stride, stride), pad,
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))

  def ours(xx, kk):
    return models.conv2d(xx, kk, stride=stride, padding=pad)

  np.testing.assert_allclose(ours(x, kernel), ref(x, kernel), rtol=1e-5, atol=1e-5)
  loss = lambda fn: jax.grad(lambda xx, kk: jnp.sum(jnp.cos(fn(xx, kk))), argnums=(0, 1))(x, kernel)
  for a, b in zip(loss(ours), loss(ref)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def _numpy_batch_norm(x, scale, bias, eps):
  """Training-mode batch normalisation (Ioffe & Szegedy, 2015) in float64: the biased batch
  variance over every axis but the last."""
  x, scale, bias = (np.asarray(a, np.float64) for a in (x, scale, bias))
  axes = tuple(range(x.ndim - 1))
  mean, var = x.mean(axes), x.var(axes)
  return (x - mean) / np.sqrt(var + eps) * scale + bias, mean, var


@pytest.mark.parametrize("shape", [(6, 5, 4, 3), (16, 7)])
def test_batch_norm_is_flax_batch_norm_with_its_sums_as_matmuls(shape):
  key = jax.random.PRNGKey(0)
  x = 3.0 * jax.random.normal(key, shape) + 1.0
  c = shape[-1]
  ours = models.layers.BatchNorm(momentum=0.9, epsilon=1e-5)
  flax_bn = nn.BatchNorm(use_running_average=False, momentum=0.9, epsilon=1e-5)
  variables = ours.init(key, x)
  # the same variables, so checkpoints and parameter paths carry over
  assert jax.tree.map(jnp.shape, variables) == jax.tree.map(jnp.shape, flax_bn.init(key, x))
  variables = {"params": {"scale": jnp.linspace(0.5, 2.0, c), "bias": jnp.linspace(-1.0, 1.0, c)},
               "batch_stats": {"mean": jnp.full((c,), 0.5), "var": jnp.full((c,), 2.0)}}
  y, stats = ours.apply(variables, x, mutable=["batch_stats"])
  want, mean, var = _numpy_batch_norm(x, variables["params"]["scale"],
                                      variables["params"]["bias"], 1e-5)
  np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(stats["batch_stats"]["mean"], 0.9 * 0.5 + 0.1 * mean, rtol=1e-5)
  np.testing.assert_allclose(stats["batch_stats"]["var"], 0.9 * 2.0 + 0.1 * var, rtol=1e-5)
  # gradients with respect to input, scale and bias are Flax's
  weights = jax.random.normal(jax.random.fold_in(key, 1), shape)
  grad = lambda m: jax.grad(lambda v, xx: jnp.sum(
      m.apply(v, xx, mutable=["batch_stats"])[0] * weights), argnums=(0, 1))(variables, x)
  for a, b in zip(jax.tree.leaves(grad(ours)), jax.tree.leaves(grad(flax_bn))):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
  # and no per-channel sum, forward or backward, is left to XLA:CPU's slow reductions
  step = jax.make_jaxpr(lambda v, xx: jax.vjp(
      lambda v: ours.apply(v, xx, mutable=["batch_stats"])[0], v)[1](weights))(variables, x)
  assert "reduce_sum" not in str(step) and "dot_general" in str(step)
  # evaluation mode normalises with the running statistics
  frozen = models.layers.BatchNorm(use_running_average=True, epsilon=1e-5)
  np.testing.assert_allclose(
      frozen.apply(variables, x),
      (np.asarray(x) - 0.5) / np.sqrt(2.0 + 1e-5) * np.asarray(variables["params"]["scale"])
      + np.asarray(variables["params"]["bias"]), rtol=1e-5, atol=1e-5)


def test_channel_sums_and_bias_gradients_are_plain_sums():
  key = jax.random.PRNGKey(3)
  x = jax.random.normal(key, (4, 3, 5, 6))
  np.testing.assert_allclose(models.layers.channel_sum(x), np.asarray(x).sum((0, 1, 2)),
                             rtol=1e-5, atol=1e-5)
  bias = jax.random.normal(jax.random.fold_in(key, 1), (6,))
  g = jax.grad(lambda b: jnp.sum(jnp.sin(models.layers.add_channels(x, b))))(bias)
  np.testing.assert_allclose(g, np.cos(np.asarray(x) + np.asarray(bias)).sum((0, 1, 2)),
                             rtol=1e-5, atol=1e-5)
  # a bfloat16 map keeps its dtype, its bias gradient the bias's
  g16 = jax.grad(lambda b: jnp.sum(models.layers.add_channels(
      x.astype(jnp.bfloat16), b).astype(jnp.float32)))(bias)
  assert g16.dtype == jnp.float32
  np.testing.assert_allclose(g16, np.full(6, 4 * 3 * 5), rtol=1e-6)
