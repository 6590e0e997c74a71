"""Tools that are not part of training: ``bench`` (the step's speed), ``bench_torch`` (the same
networks in PyTorch) and ``check_behaviour`` (fingerprints of three short trainings)."""
