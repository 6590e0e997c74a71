"""make evaluation-function: the replay comparison's configs and its page's verdicts."""

import pathlib
import shutil

from ebgan_jax import rundir
from ebgan_jax.studies import evaluation_function as study

REPO = pathlib.Path(__file__).resolve().parent.parent


def test_every_replay_row_is_the_toy_recipe_with_its_setting():
  for dataset in study.REPLAY["datasets"]:
    for algorithm, extra in study.REPLAY["models"].values():
      for size, fraction in study.REPLAY["settings"].values():
        config = study.replay_config(dataset, algorithm, extra, size, fraction)
        assert (config.data.name, config.algorithm, config.replay.size,
                config.replay.fraction) == (dataset, algorithm, size, fraction)
        assert config.num_steps == (2000 if dataset == "ring" else 5000)
        assert config.pt_weight == extra.get("pt_weight", 0.0)


def test_the_replay_verdicts_are_computed_from_the_json(tmp_path):
  out = tmp_path / "out"
  shutil.copytree(REPO / "results" / "evaluation_function", out)
  member = lambda modes, hq: {"member": "seed=0", "modes_covered": modes, "high_quality": hq,
                              "reverse_kl": 0.1}
  rows = [{"dataset": "ring", "model": "GAN", "setting": name, "size": size,
           "fraction": fraction, "steps": 2000, "seconds": 10.0, "members": members}
          for name, size, fraction, members in (
              ("off", 0, 0.0, [member(m, 0.5) for m in (4, 5, 6)]),
              ("more", 10, 0.5, [member(m, 0.5) for m in (7, 8, 8)]),
              ("same", 10, 0.25, [member(m, 0.5) for m in (5, 4, 6)]))]
  rundir.write_json_atomically(str(out / study.REPLAY_JSON),
                               {"fixed": "a test", "seeds": 3, "rows": rows})
  page = study.render(str(out))
  assert "| GAN | more | 7.67 ± 0.33 | 50.0 ± 0.0 | +2.67 ± 0.33 (higher) |" in page
  assert "| GAN | same | 5.00 ± 0.58 | 50.0 ± 0.0 | +0.00 ± 0.58 (no difference measured at n = 3) |" in page
