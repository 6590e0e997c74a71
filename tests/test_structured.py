"""The structured perceptron: features, the exact argmax, the update and the bound, against
NumPy references and a hand-checked example."""

import itertools

import jax.numpy as jnp
import numpy as np
import pytest

from ebgan_jax import structured


def features_reference(x, y, states, symbols):
  initial, transition = np.zeros(states), np.zeros((states, states))
  emission = np.zeros((states, symbols))
  initial[y[0]] += 1
  for t in range(len(y)):
    if t:
      transition[y[t - 1], y[t]] += 1
    emission[y[t], x[t]] += 1
  return np.concatenate([initial, transition.ravel(), emission.ravel()])


def test_features_count_the_first_state_the_transitions_and_the_emissions():
  rng = np.random.default_rng(0)
  for _ in range(5):
    x, y = rng.integers(0, 4, size=7), rng.integers(0, 3, size=7)
    np.testing.assert_array_equal(structured.features(jnp.asarray(x), jnp.asarray(y), 3, 4),
                                  features_reference(x, y, 3, 4))


def test_viterbi_is_the_argmax_over_every_labelling():
  rng = np.random.default_rng(1)
  states, symbols, length = 3, 4, 5
  every = np.array(list(itertools.product(range(states), repeat=length)))
  for _ in range(10):
    w = rng.normal(size=structured.dimension(states, symbols)).astype(np.float32)
    x = rng.integers(0, symbols, size=length)
    scores = [w @ features_reference(x, z, states, symbols) for z in every]
    best = structured.viterbi(jnp.asarray(w), jnp.asarray(x), states, symbols)
    np.testing.assert_array_equal(best, every[int(np.argmax(scores))])
    # Loss-augmented: the argmax of the score plus a cost per position and label.
    cost = rng.normal(size=(length, states)).astype(np.float32)
    augmented = [s + cost[np.arange(length), z].sum() for s, z in zip(scores, every)]
    best = structured.viterbi(jnp.asarray(w), jnp.asarray(x), states, symbols, jnp.asarray(cost))
    np.testing.assert_array_equal(best, every[int(np.argmax(augmented))])


def test_the_update_is_w_plus_phi_of_the_truth_minus_phi_of_the_argmax():
  # Two states, two symbols, x = (0, 1, 1) labelled y = (0, 1, 1), from w = 0: every
  # labelling scores 0, and the argmax breaks ties to state 0: ỹ = (0, 0, 0).
  x, y = jnp.asarray([0, 1, 1]), jnp.asarray([0, 1, 1])
  w0 = jnp.zeros(structured.dimension(2, 2))
  np.testing.assert_array_equal(structured.viterbi(w0, x, 2, 2), [0, 0, 0])
  w1, changed = structured.perceptron_update(w0, x, y, 2, 2)
  # φ(x, y): first state 0; transitions 0→1, 1→1; emissions (0, 0), (1, 1) twice.
  # φ(x, ỹ): first state 0; transitions 0→0 twice; emissions (0, 0), (0, 1) twice.
  expected = np.concatenate([[0.0, 0.0], [-2.0, 1.0, 0.0, 1.0], [0.0, -2.0, 0.0, 2.0]])
  assert bool(changed)
  np.testing.assert_array_equal(w1, expected)
  # An example the argmax already gets right changes nothing.
  right = structured.viterbi(w1, x, 2, 2)
  w2, changed = structured.perceptron_update(w1, x, right, 2, 2)
  assert not bool(changed)
  np.testing.assert_array_equal(w2, w1)


def test_the_averaged_weights_are_the_mean_over_every_example_of_every_epoch():
  hmm = structured.random_hmm(3, states=2, symbols=3)
  x, y = structured.sample_hmm(hmm, 6, 4, seed=0)
  run = structured.train_perceptron(x, y, 2, 3, max_epochs=3, shuffle_seed=None)
  w, seen = np.zeros(structured.dimension(2, 3)), []
  for _ in range(len(run.mistakes)):
    for xs, ys in zip(x, y):
      # The argmax itself is checked above; with integer weights ties are common, and this
      # reference must break them as the perceptron does.
      guess = np.asarray(structured.viterbi(jnp.asarray(w, jnp.float32), jnp.asarray(xs), 2, 3))
      if tuple(guess) != tuple(ys):
        w = w + features_reference(xs, ys, 2, 3) - features_reference(xs, guess, 2, 3)
      seen.append(w)
  np.testing.assert_allclose(run.w, w)
  np.testing.assert_allclose(run.averaged, np.mean(seen, axis=0), rtol=1e-6)


def test_on_separable_data_it_stops_with_no_mistake_within_the_bound():
  hmm = structured.random_hmm(0, states=2, symbols=4)
  x, _ = structured.sample_hmm(hmm, 60, 5, seed=1)
  # Labelled by the HMM's own decoder: its log-probabilities separate the data.
  y = structured.decode(np.asarray(hmm.weights()), x, 2, 4)
  run = structured.train_perceptron(x, y, 2, 4, max_epochs=200)
  assert run.converged and run.mistakes[-1] == 0
  np.testing.assert_array_equal(structured.decode(run.w, x, 2, 4), y)
  # The bound of Novikoff/Collins with U along the HMM's log-probabilities (no ties: its
  # weights are not integers).
  bound = structured.mistake_bound(np.asarray(hmm.weights()), x, y, 2, 4)
  assert bound.margin > 0 and bound.radius > 0
  assert sum(run.mistakes) <= bound.updates
  # The loss-augmented perceptron converges to weights with a positive margin.
  wide = structured.train_perceptron(x, y, 2, 4, max_epochs=500, margin=True)
  assert wide.converged and structured.mistake_bound(wide.w, x, y, 2, 4).margin > 0
  # A vector that does not separate the data has no bound.
  assert structured.mistake_bound(-run.w, x, y, 2, 4).updates == float("inf")


def test_the_bound_refuses_sequences_too_long_to_enumerate():
  x = np.zeros((1, 20), np.int32)
  with pytest.raises(ValueError, match="too many to enumerate"):
    structured.mistake_bound(np.ones(structured.dimension(3, 2)), x, x, 3, 2)
