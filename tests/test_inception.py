"""The FID Inception-v3 against pytorch-fid, and its weights reader against torch.save.

The fixtures in tests/data were written by PyTorch, torchvision and pytorch-fid
(tests/data/make_torch_fixtures.py); these tests need none of them.
"""

import json
import os
import pickle

import numpy as np
import pytest
import tensorflow_datasets as tfds

from ebgan_jax import evaluate, main, rundir
from ebgan_jax.evaluators import inception

DATA = os.path.join(os.path.dirname(__file__), "data")


@pytest.fixture(scope="module")
def reference():
  with np.load(os.path.join(DATA, "inception_reference.npz")) as f:
    return {k: f[k] for k in f.files}


@pytest.fixture(scope="module")
def random_weights():
  return inception.random_state_dict(0)


@pytest.fixture(scope="module")
def extractor(random_weights):
  return inception.InceptionFeatures(inception.variables_from_state_dict(random_weights),
                                     batch_size=2)


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory, random_weights):
  path = tmp_path_factory.mktemp("inception") / "random_inception.npz"
  np.savez(path, **random_weights)
  return str(path)


@pytest.mark.parametrize("name", ["torch_zip.pth", "torch_legacy.pth"])
def test_reader_matches_torch_save(name):
  expected = np.load(os.path.join(DATA, "torch_expected.npz"))
  got = inception.read_torch_state_dict(os.path.join(DATA, name))
  assert list(got) == list(expected.files)
  for key in expected.files:
    assert got[key].dtype == expected[key].dtype and got[key].shape == expected[key].shape, key
    np.testing.assert_array_equal(got[key], expected[key])


def test_reader_refuses_other_files_and_foreign_objects(tmp_path):
  text = tmp_path / "weights.pth"
  text.write_text("not a checkpoint")
  with pytest.raises(ValueError, match="is not a PyTorch checkpoint"):
    inception.read_torch_state_dict(str(text))
  # A pickle that would call os.system when loaded naively.
  evil = tmp_path / "evil.pth"
  with open(evil, "wb") as f:
    pickle.dump(0x1950A86A20F9469CFC6C, f)
    pickle.dump(1001, f)
    pickle.dump({}, f)
    f.write(b"cos\nsystem\n(S'true'\ntR.")
  with pytest.raises(pickle.UnpicklingError, match="unsupported object os.system"):
    inception.read_torch_state_dict(str(evil))


def test_resize_matches_torch_interpolate(reference):
  x = reference["resize_input"]
  np.testing.assert_allclose(inception.resize_bilinear(x, (57, 71)), reference["resized_up"],
                             atol=2e-6)
  np.testing.assert_allclose(inception.resize_bilinear(x, (23, 17)), reference["resized_down"],
                             atol=2e-6)


def test_features_match_pytorch_fid(reference, extractor):
  # pytorch-fid's InceptionV3 (resize to 299, [0, 1] -> [-1, 1], pool3) with the same weights.
  images = reference["images"].astype(np.float32) / 127.5 - 1.0
  features = extractor.features(images)
  expected = reference["features"]
  assert features.shape == (2, inception.FEATURE_DIM)
  assert np.linalg.norm(features - expected) / np.linalg.norm(expected) < 1e-5
  np.testing.assert_allclose(features, expected, atol=1e-4 * np.abs(expected).max())


def test_batches_grey_images_and_quantisation(reference, extractor):
  images = reference["images"].astype(np.float32) / 127.5 - 1.0
  grey = images[..., :1]
  three = np.concatenate([images, grey[:1, :, :, [0, 0, 0]]])  # 3 images: padded last batch
  features = extractor.features(three)
  np.testing.assert_allclose(features[:2], reference["features"], rtol=1e-4, atol=1e-3)
  np.testing.assert_allclose(extractor.features(grey[:1]), features[2:], rtol=1e-5, atol=1e-5)
  # Values between 8-bit levels are rounded to them, as an image file would store them.
  np.testing.assert_array_equal(inception.to_unit_range(images + 0.3 / 127.5),
                                inception.to_unit_range(images))
  with pytest.raises(ValueError, match=r"need \[N, H, W, 1 or 3\] images"):
    extractor.features(np.zeros((2, 8, 8, 2)))


def test_weights_are_checked_name_by_name(random_weights):
  shapes = inception.state_dict_shapes()
  # 94 convolutions, each with a kernel and four BatchNorm arrays; the count pytorch-fid's
  # network has without its classifier and step counters.
  assert len(shapes) == 470 and sum(int(np.prod(s)) for s in shapes.values()) == 21_820_000
  extra = {**random_weights, "fc.weight": np.zeros((1008, 2048)), "fc.bias": np.zeros(1008),
           "Mixed_7c.branch1x1.bn.num_batches_tracked": np.array(3)}
  variables = inception.variables_from_state_dict(extra)
  back = inception.state_dict_from_variables(variables)
  assert set(back) == set(random_weights)
  for key, value in random_weights.items():
    np.testing.assert_array_equal(back[key], value)
  missing = dict(random_weights)
  del missing["Mixed_6b.branch7x7_2.conv.weight"]
  with pytest.raises(ValueError, match="lack 1 of the FID Inception-v3's 470 arrays"):
    inception.variables_from_state_dict(missing)
  wrong = {**random_weights, "Conv2d_1a_3x3.conv.weight": np.zeros((32, 3, 5, 5))}
  with pytest.raises(ValueError, match=r"has shape \(32, 3, 5, 5\), the FID Inception-v3 needs"):
    inception.variables_from_state_dict(wrong)
  with pytest.raises(ValueError, match="hold 'dense.weight', which the FID Inception-v3"):
    inception.load_variables(os.path.join(DATA, "torch_zip.pth"))


def test_convert_writes_npz_and_never_overwrites(tmp_path, weights_file, capsys):
  dst = tmp_path / "fid.npz"
  assert inception.main(["convert", weights_file, str(dst)]) == 0
  with np.load(dst) as f:
    assert len(f.files) == 470
  before = dst.stat().st_mtime_ns
  assert inception.main(["convert", weights_file, str(dst)]) == 2
  assert dst.stat().st_mtime_ns == before
  assert inception.main(["convert", os.path.join(DATA, "torch_zip.pth"),
                         str(tmp_path / "bad.npz")]) == 2
  assert not (tmp_path / "bad.npz").exists()
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 2 and "exists; remove it" in err[0] and "dense.weight" in err[1]


def test_missing_weights_file_is_one_line(tmp_path):
  with pytest.raises(ValueError, match="does not exist; get pt_inception-2015-12-05"):
    inception.load_variables(str(tmp_path / "nowhere.pth"))


@pytest.mark.slow  # the weights' checks and FID/KID's parity are fast tests above
def test_tfds_run_measures_fid_kid_with_weights_and_skips_without(tmp_path, weights_file,
                                                                   monkeypatch, capsys):
  run = tmp_path / "run"
  args = ["--config", "mnist_ebgan", "--workdir", str(run), "--no_progress",
          "--config.num_steps=2", "--config.log_every=1", "--config.sample_every=1000",
          "--config.batch_size=4", f"--config.data.data_dir={tmp_path}", "--config.num_samples=4",
          "--config.model.size_g=32", "--config.model.size_d=32", "--config.eval_samples=6",
          "--config.eval_every=1"]
  with tfds.testing.mock_data(num_examples=8):
    assert main.main(args + [f"--config.inception_weights={weights_file}"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1].split(": ", 1)[1])
    assert summary["fid_samples"] == 6 and np.isfinite(summary["fid"]) and summary["fid"] > 0
    assert np.isfinite(summary["kid_x1000"])
    logged = [r for r in rundir.read_metrics(str(run)) if "fid" in r]
    # one evaluation during training, the final one beside it
    assert [r["step"] for r in logged] == [1, 2] and np.isfinite(logged[0]["fid"])
    assert logged[1]["fid"] == summary["fid"]
    # make eval: the weights given on the command line, or none (a one-line notice).
    assert evaluate.main(["--workdir", str(run), "--inception_weights", weights_file]) == 0
    with_weights = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    np.testing.assert_allclose(with_weights["fid"], summary["fid"], rtol=1e-4)
    with open(run / "config.json") as f:
      config = json.load(f)
    config["inception_weights"] = ""
    with open(run / "config.json", "w") as f:
      json.dump(config, f)
    assert evaluate.main(["--workdir", str(run)]) == 0
  out = capsys.readouterr().out.strip().splitlines()
  notices = [line for line in out if line.startswith("FID/KID skipped")]
  assert len(notices) == 1 and "--config.inception_weights=PATH" in notices[0]
  assert "fid" not in json.loads(out[-1])


def test_nonexistent_weights_stop_the_run_before_training(tmp_path, capsys):
  assert main.main(["--config", "digits_ebgan_pt", "--workdir", str(tmp_path / "run"),
                    "--config.inception_weights=/nowhere/inception.pth"]) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 1 and "Inception weights file /nowhere/inception.pth does not exist" in err[0]
  assert not (tmp_path / "run").exists()
