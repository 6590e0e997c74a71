"""Super-resolution: the operator U and the measures against NumPy/PIL/SciPy references, the
total-variation solver's consistency, the patches, a tiny run through the runner, and
``super_resolve`` / ``make sample INPUT=`` / ``make eval HR_DIR=`` on images of odd sizes."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from ebgan_jax.evaluators import superres as sr


def _photo(h=48, w=40, seed=0):
  """A smooth random RGB image in [0, 1] with some edges."""
  rng = np.random.default_rng(seed)
  base = ndimage.gaussian_filter(rng.random((h, w, 3)), (2, 2, 0))
  base = (base - base.min()) / (base.max() - base.min())
  base[h // 3:, : w // 2] *= 0.5
  return base.astype(np.float32)


def test_downsampling_is_pil_antialiased_bicubic():
  # PIL's BICUBIC (Keys, a = -0.5) with its support stretched by the factor when reducing:
  # the same operator, computed independently, channel by channel in float.
  y = _photo()
  for scale in (2, 4):
    ours = np.asarray(sr.downsample(jnp.asarray(y), scale))
    ref = np.stack([np.asarray(Image.fromarray(y[..., c], mode="F").resize(
        (y.shape[1] // scale, y.shape[0] // scale), Image.BICUBIC)) for c in range(3)], -1)
    assert ours.shape == (48 // scale, 40 // scale, 3)
    np.testing.assert_allclose(ours, ref, atol=2e-3)
  with pytest.raises(ValueError, match="does not divide by scale 4"):
    sr.downsample(jnp.zeros((10, 12, 3)), 4)


def test_bicubic_round_trip_of_a_constant_image_is_exact():
  y = np.full((32, 24, 3), 0.4, np.float32)
  x = sr.downsample(jnp.asarray(y), 4)
  up = np.asarray(sr.upsample_bicubic(x, 4))
  np.testing.assert_allclose(up, y, atol=1e-6)
  assert sr.psnr_y(sr.to_uint8(up), sr.to_uint8(y), 4) == float("inf")
  assert sr.ssim_y(sr.to_uint8(up), sr.to_uint8(y), 4) == pytest.approx(1.0)


def _numpy_ssim(a, b, peak=255.0, sigma=1.5):
  """SSIM of Wang, Bovik, Sheikh & Simoncelli (2004, eq. 13) with a Gaussian window of
  ``sigma`` truncated at 3.5 sigma, K1 = 0.01, K2 = 0.03, averaged over the valid pixels."""
  c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
  f = lambda t: ndimage.gaussian_filter(t, sigma, truncate=3.5)
  mu_a, mu_b = f(a), f(b)
  va, vb, cov = f(a * a) - mu_a ** 2, f(b * b) - mu_b ** 2, f(a * b) - mu_a * mu_b
  s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (va + vb + c2))
  pad = (2 * int(3.5 * sigma + 0.5)) // 2
  return s[pad:-pad, pad:-pad].mean()


def test_measures_on_luminance_with_the_border_cropped():
  hr = _photo(seed=1)
  noisy = np.clip(hr + np.random.default_rng(2).normal(0, 0.05, hr.shape), 0, 1)
  a8, b8 = sr.to_uint8(hr), sr.to_uint8(noisy)
  ya = 16 + a8 @ np.array([65.481, 128.553, 24.966]) / 255.0  # BT.601 luminance
  yb = 16 + b8 @ np.array([65.481, 128.553, 24.966]) / 255.0
  crop = lambda t: t[3:-3, 3:-3]
  mse = np.mean((crop(ya) - crop(yb)) ** 2)
  assert sr.psnr_y(b8, a8, 3) == pytest.approx(10 * np.log10(255.0 ** 2 / mse), abs=1e-6)
  assert sr.ssim_y(b8, a8, 3) == pytest.approx(_numpy_ssim(crop(ya), crop(yb)), abs=1e-6)
  # consistency of the HR image itself is exact; detail: noise adds detail, blur removes it
  x = np.asarray(sr.downsample(jnp.asarray(hr), 2))
  assert sr.consistency_psnr(hr, x, 2) == float("inf")
  blurred = ndimage.gaussian_filter(hr, (1.5, 1.5, 0))
  hr_detail = sr.detail_energy(hr, 2)
  assert sr.detail_energy(noisy, 2) > hr_detail > sr.detail_energy(blurred, 2) > 0
  assert sr.diversity(np.stack([hr, hr])) == 0.0
  assert sr.diversity(np.stack([hr, noisy])) > 0.0


def test_total_variation_solution_is_consistent_and_flatter_with_lambda():
  hr = _photo(32, 32, seed=3)
  x = sr.downsample(jnp.asarray(hr), 2)
  bicubic = sr.upsample_bicubic(x, 2)
  y = np.asarray(sr.total_variation_solve(x, 2, lam=1e-3, steps=200))
  # more consistent with x than bicubic upsampling, and a lower objective
  assert sr.consistency_psnr(y, np.asarray(x), 2) > max(
      35.0, sr.consistency_psnr(np.asarray(bicubic), np.asarray(x), 2))
  objective = lambda t, lam: (0.5 * float(jnp.sum(jnp.square(sr.downsample(t, 2) - x)))
                              + lam * float(sr.total_variation(t)))
  assert objective(jnp.asarray(y), 1e-3) < objective(bicubic, 1e-3)
  # a larger weight trades consistency for a flatter image
  flat = np.asarray(sr.total_variation_solve(x, 2, lam=3e-2, steps=200))
  assert sr.total_variation(jnp.asarray(flat)) < sr.total_variation(jnp.asarray(y))


def test_patches_are_a_function_of_the_index_and_splits_are_disjoint():
  from ebgan_jax.data import natural
  assert not set(natural.TRAIN) & set(natural.TEST)
  assert not set(natural.VALIDATION) & (set(natural.TEST) | set(natural.TRAIN))
  assert len(natural.TEST) >= 5
  images = [_photo(40, 50, seed=s) for s in range(3)]
  source = natural.PatchSource(images, 16, seed=7)
  a, b = source(np.array([5, 9])), source(np.array([9]))
  assert a.shape == (2, 16, 16, 3) and a.dtype == np.float32
  np.testing.assert_array_equal(a[1], b[0])
  assert a.min() >= -1.0 and a.max() <= 1.0
  with pytest.raises(ValueError, match="larger than an image"):
    natural.PatchSource(images, 64, seed=0)


def test_tiles_change_nothing_inside_the_receptive_field():
  blur = lambda x: jnp.asarray(ndimage.uniform_filter(
      np.asarray(sr.upsample_bicubic(x, 2)), (1, 5, 5, 1), mode="mirror"))
  x = _photo(37, 29, seed=4)
  whole = sr.tiled(blur, x, 2, tile=64, margin=6)
  small = sr.tiled(blur, x, 2, tile=8, margin=6)
  assert whole.shape == (74, 58, 3)
  np.testing.assert_allclose(small, whole, atol=1e-5)


def _tiny(experiment: str, workdir, *overrides: str) -> None:
  from ebgan_jax import main
  assert main.main(["--config", f"experiments/{experiment}.py", "--workdir", str(workdir),
                    "--no_progress", "--config.num_steps=3", "--config.log_every=1",
                    "--config.model.blocks=1", "--config.model.features_g=8",
                    "--config.model.features_d=4", "--config.data.image_size=16",
                    "--config.batch_size=4", *overrides]) == 0


@pytest.fixture(scope="module")
def tiny_superres(tmp_path_factory):
  """A super-resolution run of 6 steps through the command line (x2, one residual block)."""
  workdir = tmp_path_factory.mktemp("superres") / "run"
  _tiny("superres_x2_mse", workdir, "--config.num_steps=6", "--config.log_every=3",
        "--config.superres.eval_images=1")
  return workdir


def test_a_tiny_run_trains_and_scores_its_validation_image(tiny_superres):
  summary = json.load(open(tiny_superres / "summary.json"))
  assert summary["steps"] == 6
  for key in ("val_psnr_y", "val_ssim_y", "val_consistency_psnr", "val_detail_ratio",
              "val_bicubic_psnr_y", "mse", "psnr"):
    assert np.isfinite(summary[key]), key


def test_super_resolve_takes_any_size_and_refuses_bad_images(tiny_superres):
  import ebgan_jax
  run = ebgan_jax.load(str(tiny_superres))
  lr = sr.to_uint8(_photo(37, 29, seed=5))
  hr = run.super_resolve(lr)
  assert hr.shape == (74, 58, 3) and hr.dtype == np.uint8
  np.testing.assert_array_equal(run.super_resolve(lr, tile=16), hr)
  with pytest.raises(ValueError, match="grey-scale"):
    run.super_resolve(lr[..., 0])
  with pytest.raises(ValueError, match="RGB images"):
    run.super_resolve(np.concatenate([lr, lr[..., :1]], -1))
  with pytest.raises(ValueError, match="receptive field"):
    run.super_resolve(lr[:5, :5])


def test_make_sample_and_eval_on_files(tiny_superres, tmp_path, capsys):
  from ebgan_jax import evaluate, sample
  low = tmp_path / "low.png"
  Image.fromarray(sr.to_uint8(_photo(37, 29, seed=6))).save(low)
  high = tmp_path / "high.png"
  assert sample.main(["--workdir", str(tiny_superres), "--input", str(low),
                      "--output", str(high)]) == 0
  assert Image.open(high).size == (58, 74)
  # nothing is overwritten, and bad files get one line
  assert sample.main(["--workdir", str(tiny_superres), "--input", str(low),
                      "--output", str(high)]) == 2
  Image.fromarray(sr.to_uint8(_photo(37, 29)[..., 0])).save(tmp_path / "grey.png")
  Image.fromarray(np.zeros((30, 30, 4), np.uint8)).save(tmp_path / "rgba.png")
  (tmp_path / "notes.png").write_text("not an image")
  for bad, says in (("grey.png", "grey-scale"), ("rgba.png", "4 channels"),
                    ("notes.png", "not an image file")):
    capsys.readouterr()
    assert sample.main(["--workdir", str(tiny_superres), "--input", str(tmp_path / bad),
                        "--output", str(tmp_path / ("out_" + bad))]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1, err
    assert not os.path.exists(tmp_path / ("out_" + bad))
  # make eval HR_DIR=: every image, and the mean
  folder = tmp_path / "hr"
  folder.mkdir()
  for s, (h, w) in enumerate([(40, 34), (33, 50)]):
    Image.fromarray(sr.to_uint8(_photo(h, w, seed=s))).save(folder / f"im{s}.png")
  out = tmp_path / "eval"
  assert evaluate.main(["--workdir", str(tiny_superres), "--hr_dir", str(folder),
                        "--out", str(out)]) == 0
  rows = json.load(open(out / "eval_hr.json"))
  assert [r["image"] for r in rows] == ["im0.png", "im1.png", "mean of 2"]
  assert rows[2]["psnr_y"] == pytest.approx((rows[0]["psnr_y"] + rows[1]["psnr_y"]) / 2)
  assert rows[0]["bicubic_psnr_y"] > 20


def test_scattering_is_mirror_convolution_modulus_and_block_mean():
  from ebgan_jax import statistics
  y = _photo(16, 12, seed=8)
  got = np.asarray(statistics.scattering(jnp.asarray(y[None])))[0]
  bank = statistics.morlet_bank()
  psi = bank[..., 0] + 1j * bank[..., 1]
  assert got.shape == (8, 6, 3 * (1 + psi.shape[-1])) == (8, 6, statistics.count())
  for c in range(3):
    maps = [y[..., c]]
    for f in range(psi.shape[-1]):
      real = ndimage.convolve(y[..., c].astype(np.float64), psi[..., f].real, mode="mirror")
      imag = ndimage.convolve(y[..., c].astype(np.float64), psi[..., f].imag, mode="mirror")
      maps.append(np.sqrt(real ** 2 + imag ** 2 + 1e-8))
    want = np.stack(maps, -1).reshape(8, 2, 6, 2, -1).mean((1, 3))
    np.testing.assert_allclose(got[..., c * want.shape[-1]:(c + 1) * want.shape[-1]], want,
                               atol=2e-5)
  # band-pass: a constant image has no response but its mean
  flat = np.asarray(statistics.scattering(jnp.full((1, 8, 8, 3), 0.3)))[0]
  np.testing.assert_allclose(flat[..., 0], 0.3, atol=1e-6)
  np.testing.assert_allclose(flat[..., 1:9], 1e-4, atol=1e-4)


def test_synthesis_matches_the_statistics_of_an_image_and_stays_consistent():
  from ebgan_jax import statistics
  hr = jnp.asarray(_photo(32, 32, seed=9)[None])
  x = sr.downsample(hr, 2)
  init = sr.upsample_bicubic(x, 2)
  target = statistics.scattering(hr)
  y = statistics.synthesize(target, x, 2, init, steps=60, consistency=100.0)
  err = lambda t: float(jnp.mean(jnp.square(statistics.scattering(t) - target)))
  assert err(y) < 0.5 * err(init)
  assert sr.consistency_psnr(np.asarray(y[0]), np.asarray(x[0]), 2) > 35.0
  # it restores detail that bicubic upsampling lost
  assert sr.detail_energy(np.asarray(y[0]), 2) > 2 * sr.detail_energy(np.asarray(init[0]), 2)


def test_a_tiny_statistics_run_super_resolves(tmp_path):
  import ebgan_jax
  workdir = tmp_path / "stats"
  _tiny("superres_x2_stats", workdir, "--config.log_every=3", "--config.superres.eval_images=0",
        "--config.superres.synthesis_steps=3")
  run = ebgan_jax.load(str(workdir))
  hr = run.super_resolve(sr.to_uint8(_photo(37, 29, seed=10)))
  assert hr.shape == (74, 58, 3) and hr.dtype == np.uint8


def test_a_tiny_conditional_ebgan_draws_distinct_consistent_samples(tmp_path):
  import ebgan_jax
  workdir = tmp_path / "ebgan"
  # A margin above every energy: each hinge is active, so D's loss is exactly
  # mean D(y, x) + m - mean D(G(x, z), x), over both samples of each input.
  _tiny("superres_x4_ebgan", workdir, "--config.margin=10.0",
        "--config.superres.eval_images=1")
  rows = [json.loads(line) for line in open(workdir / "metrics.jsonl")]
  assert [r["step"] for r in rows] == [1, 2, 3]
  for r in rows:
    assert r["loss_d"] == pytest.approx(r["energy_real"] + 10.0 - r["energy_fake"], rel=1e-5)
    assert 0.0 <= r["pt"] <= 1.0 and r["diversity"] > 0.0 and r["consistency_mse"] >= 0.0
  summary = json.load(open(workdir / "summary.json"))
  assert summary["val_diversity"] > 0.0 and np.isfinite(summary["val_psnr_y"])
  run = ebgan_jax.load(str(workdir))
  lr = sr.to_uint8(_photo(37, 29, seed=11))
  a, b = run.super_resolve(lr, seed=0), run.super_resolve(lr, seed=1)
  assert a.shape == (148, 116, 3) and not np.array_equal(a, b)
  # one seed is one sample, whatever the tiling: z covers the whole image
  np.testing.assert_array_equal(run.super_resolve(lr, tile=16, seed=0), a)


def _is_window(patch: np.ndarray, images: list[np.ndarray]) -> bool:
  """Whether ``patch`` is a window of one of ``images`` after one of the 8 flips/quarter-turns."""
  side = patch.shape[0]
  for image in images:
    windows = np.lib.stride_tricks.sliding_window_view(image.astype(np.float32),
                                                       (side, side, 3))[..., 0, :, :, :]
    for flipped in (patch, patch[:, ::-1]):
      for k in range(4):
        if np.any(np.all(np.abs(windows - np.rot90(flipped, -k)) < 1e-3, axis=(-3, -2, -1))):
          return True
  return False


def test_div2k_patches_and_validation_images_through_tfds_mock(tmp_path):
  import tensorflow_datasets as tfds
  from ebgan_jax import configs, data
  from ebgan_jax.data import natural
  rng = np.random.default_rng(0)
  # DIV2K's examples hold an HR and an LR image; only "hr" is read (U makes the LR input).
  examples = [{"hr": rng.integers(0, 256, (40 + i, 36, 3), dtype=np.uint8),
               "lr": np.zeros((10, 9, 3), np.uint8)} for i in range(3)]
  cfg = configs.base_config().data
  cfg.name, cfg.data_dir, cfg.image_size = "div2k", str(tmp_path), 16
  with tfds.testing.mock_data(as_data_source_fn=lambda *args, **kwargs: examples):
    ds = data.make_dataset(cfg, batch_size=4, seed=0)
    batch = ds.batch(0)
    assert ds.mocked and batch.shape == (4, 16, 16, 3) and batch.dtype == np.float32
    np.testing.assert_array_equal(ds.batch(0), batch)  # a pure function of the index
    # every patch is a window of one HR image (up to a flip or a quarter-turn), in [-1, 1]
    unit = (batch + 1.0) / 2.0 * 255.0
    for patch in unit:
      assert _is_window(patch, [ex["hr"] for ex in examples])
    images = natural.images(cfg, "validation", 2)
    assert [v.shape for v in images.values()] == [(40, 36, 3), (41, 36, 3)]
    np.testing.assert_allclose(images["div2k_validation_0000"], examples[0]["hr"] / 255.0,
                               atol=1e-6)
    # and a tiny run trains on it, scored on DIV2K's validation images
    _tiny("superres_x2_mse", tmp_path / "run", "--config.data.name=div2k",
          f"--config.data.data_dir={tmp_path}", "--config.superres.eval_images=1")
  summary = json.load(open(tmp_path / "run" / "summary.json"))
  assert np.isfinite(summary["val_psnr_y"])


def test_cnn_feature_statistics_train_then_stay_fixed(tmp_path):
  import ebgan_jax
  from ebgan_jax import statistics, step
  workdir = tmp_path / "cnn"
  # feature_steps=1 of 3: the feature network moves at step 1 only
  _tiny("superres_x4_stats_cnn", workdir, "--config.superres.feature_steps=1",
        "--config.superres.eval_images=0", "--config.superres.synthesis_steps=3")
  rows = [json.loads(line) for line in open(workdir / "metrics.jsonl")]
  assert all(np.isfinite(r["reconstruction_mse"]) for r in rows)
  run = ebgan_jax.load(str(workdir))
  # the statistics: block means of the image beside the feature network's first layer
  y = jnp.asarray(_photo(16, 12, seed=12)[None])
  d_vars = {"params": run.state.d.params, "batch_stats": run.state.d.batch_stats}
  first = run.discriminator.apply(d_vars, y, first_layer=True)
  got = statistics.cnn_statistics(y, lambda t: run.discriminator.apply(d_vars, t,
                                                                       first_layer=True))
  assert got.shape == (1, 8, 6, 3 + first.shape[-1])
  means = np.asarray(y[0]).reshape(8, 2, 6, 2, 3).mean((1, 3))
  np.testing.assert_allclose(got[0, ..., :3], means, atol=1e-6)
  np.testing.assert_array_equal(got[..., 3:], first)
  # after feature_steps updates the feature network no longer moves: its optimizer took one
  # step, and its parameters differ from their initial values
  fresh = step.create_state(run.config, run.generator, run.discriminator, (16, 16, 3))
  assert int(run.state.d.step) == 1 and int(run.state.g.step) == 3
  assert any(not np.array_equal(a, b) for a, b in zip(jax.tree.leaves(run.state.d.params),
                                                       jax.tree.leaves(fresh.d.params)))
  hr = run.super_resolve(sr.to_uint8(_photo(37, 29, seed=13)))
  assert hr.shape == (148, 116, 3) and hr.dtype == np.uint8
