"""The documentation matches the code: every documented name exists, every example runs."""

import pathlib
import re

import jax
import jax.numpy as jnp
import numpy as np

import ebgan_jax

REPO = pathlib.Path(__file__).resolve().parent.parent
DOC = (REPO / "docs" / "losses.md").read_text()


def test_every_exported_name_is_documented_and_every_documented_name_exported():
  documented = set(re.findall(r"^\| `(\w+)\(", DOC, flags=re.M))
  exported = set(ebgan_jax.__all__) - {"load"}  # load: the README's "Use it from Python"
  assert documented == exported, (sorted(exported - documented), sorted(documented - exported))
  assert all(callable(getattr(ebgan_jax, name)) for name in ebgan_jax.__all__)
  assert "ebgan_jax.load(" in (REPO / "README.md").read_text()


def test_documented_examples_run():
  blocks = re.findall(r"```python\n(.*?)```", DOC, flags=re.S)
  assert len(blocks) == 2
  namespace = {}
  for block in blocks:  # the second block uses the first one's imports
    # The examples run as a user runs them: JAX's default promotion (optax's Adam needs it).
    with jax.numpy_dtype_promotion("standard"):
      exec(compile(block, "docs/losses.md", "exec"), namespace)
  assert float(namespace["pt"]) >= 0.0


def test_readme_and_docs_name_real_commands_and_experiments():
  readme = (REPO / "README.md").read_text()
  first_block = re.search(r"```bash\n(.*?)```", readme, flags=re.S).group(1)
  assert first_block.split("\n")[0].startswith("make train") and "make test" in first_block
  assert len(readme.splitlines()) <= 150  # a quickstart; the rest lives in docs/
  makefile = (REPO / "Makefile").read_text()
  experiments = 0
  for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
    text = page.read_text()
    for name in re.findall(r"\| `(\w+)` [(|]", text) if page.name == "experiments.md" else []:
      assert (REPO / "experiments" / f"{name}.py").exists(), (page.name, name)
      experiments += 1
    for target in set(re.findall(r"make ([a-z-]+)", text)):
      assert re.search(rf"^{target}:", makefile, flags=re.M), (page.name, target)
    for link in re.findall(r"\]\(([\w/.-]+\.md)\)", text):  # relative links resolve
      assert (page.parent / link).exists(), (page.name, link)
  assert experiments >= 20  # the experiments table was checked


def test_eval_doc_example_runs_and_its_notice_is_the_code_s(tmp_path, monkeypatch, capsys):
  import numpy as np
  from ebgan_jax.evaluators import inception
  doc = (REPO / "docs" / "eval.md").read_text()
  documented = re.search(r"```\n(FID/KID skipped: .*?) \.\.\.\n```", doc).group(1)
  # The notice a run prints: an evaluator of an image dataset without weights.
  from types import SimpleNamespace
  from ebgan_jax import configs
  from ebgan_jax.evaluators import Evaluator
  evaluator = Evaluator(configs.base_config(), SimpleNamespace(name="mnist"))
  assert evaluator.extractor is None and not evaluator.measures
  assert capsys.readouterr().out.startswith(documented)
  assert inception.WEIGHTS_FILE in doc
  # The example, with random weights in place of the real file.
  monkeypatch.chdir(tmp_path)
  np.savez("inception_fid.npz", **inception.random_state_dict(0))
  rng = np.random.default_rng(0)
  namespace = {"real_images": rng.uniform(-1, 1, (3, 16, 16, 3)),
               "generated_images": rng.uniform(-1, 1, (3, 16, 16, 1))}
  block = re.search(r"```python\n(.*?)```", doc, flags=re.S).group(1)
  exec(compile(block.replace("batch_size=50", "batch_size=3"), "docs/eval.md", "exec"), namespace)
  assert namespace["real"].shape == (3, 2048) and namespace["fake"].shape == (3, 2048)


def test_adding_an_algorithm_example_registers_and_trains_it(tmp_path, monkeypatch):
  from ebgan_jax import algorithms, configs
  from ebgan_jax.studies import family as results
  doc = (REPO / "docs" / "algorithms.md").read_text()
  blocks = re.findall(r"```python\n(.*?)```", doc, flags=re.S)
  assert len(blocks) == 2
  monkeypatch.chdir(tmp_path)
  namespace = {}
  try:
    for block in blocks:
      with jax.numpy_dtype_promotion("standard"):
        exec(compile(block, "docs/algorithms.md", "exec"), namespace)
    hinge = algorithms.REGISTRY["hinge_gan"]
    assert configs.base_config().algorithm in algorithms.REGISTRY
  finally:
    algorithms.REGISTRY.pop("hinge_gan", None)  # the registry as the other tests know it
  summary = namespace["summary"]
  assert summary["steps"] == 200 and 1 <= summary["modes_covered"] <= 8
  assert np.isfinite(summary["loss_d"]) and summary["loss_d"] >= 0  # hinge losses are >= 0
  # The losses are the formulas: D(x) = 2 and D(G(z)) = -1.5 cost nothing; D(G(z)) = 0.5 costs 1.5.
  loss, _, _ = hinge().discriminator_loss(None, jnp.array([2.0]), None, jnp.array([-1.5]), {})
  assert float(loss) == 0.0
  loss, _, _ = hinge().discriminator_loss(None, jnp.array([2.0]), None, jnp.array([0.5]), {})
  assert float(loss) == 1.5
  assert (tmp_path / "runs" / "hinge_ring" / "samples_final.png").exists()
  assert "Hinge GAN" not in results.ALGORITHMS  # the package's table rows are the package's


def test_contributing_example_registers_a_dataset_and_an_architecture_and_trains_them(
    tmp_path, monkeypatch):
  """docs/contributing.md's example: a toy dataset and a toy architecture registered from
  here, with the hinge GAN of docs/algorithms.md, trained through the command `make train`
  runs."""
  from ebgan_jax import algorithms, data, models, rundir
  algorithm_block = re.findall(r"```python\n(.*?)```", (REPO / "docs" / "algorithms.md").read_text(),
                               flags=re.S)[0]
  blocks = re.findall(r"```python\n(.*?)```", (REPO / "docs" / "contributing.md").read_text(),
                      flags=re.S)
  assert len(blocks) == 2
  monkeypatch.chdir(tmp_path)
  namespace = {}
  try:
    for name, block in (("docs/algorithms.md", algorithm_block), ("docs/contributing.md", blocks[0]),
                        ("docs/contributing.md", blocks[1])):
      with jax.numpy_dtype_promotion("standard"):
        exec(compile(block, name, "exec"), namespace)
    assert namespace["exit_code"] == 0
    assert "moons" in data.DATASETS and "points" in models.ARCHITECTURES
  finally:  # the registries as the other tests know them
    algorithms.REGISTRY.pop("hinge_gan", None)
    data.DATASETS.pop("moons", None)
    models.ARCHITECTURES.pop("points", None)
  summary = rundir.read_json(str(tmp_path / "runs" / "moons"), rundir.SUMMARY)
  assert summary["steps"] == 200 and np.isfinite(summary["loss_d"]) and summary["loss_d"] >= 0
  assert (tmp_path / "runs" / "moons" / "samples_final.png").exists()
  # The dataset is the formula: every batch a pure function of (seed, step), near the moons.
  moons = namespace["Moons"](batch_size=500, seed=3)
  np.testing.assert_array_equal(moons.batch(7), moons.batch(7))
  assert not np.array_equal(moons.batch(7), moons.batch(8))
  x, y = moons.batch(0).T
  distance = np.minimum(np.abs(np.hypot(x, y) - 1), np.abs(np.hypot(x - 1, y - 0.5) - 1))
  assert np.median(distance) < 0.1


def test_every_documented_command_module_exists():
  """Every ``python -m ebgan_jax...`` in the README and docs names a module with a main()."""
  import importlib
  pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
  named = {m for page in pages for m in re.findall(r"python -m (ebgan_jax[\w.]*)", page.read_text())}
  assert "ebgan_jax.main" in named
  for module in sorted(named):
    assert callable(getattr(importlib.import_module(module), "main", None)), module
