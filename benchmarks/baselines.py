"""The DoppelGANger paper's comparators, compactly, on the same encoding as dgkeras.

Each baseline is fitted on the arrays of :class:`dgkeras.encoding.Encoder`
(one record per step, values globally scaled to [0, 1], no per-series
normalisation, as in the paper's baselines) and returns a long DataFrame
decoded by the same encoder, so every model is scored by the same code.

* ``AR``: an MLP predicts the next record and a stop probability from the
  last 3 records and the attributes (paper Sec. 5.1, p = 3); sampling adds
  Gaussian noise with the training residuals' standard deviation.
* ``RNN``: an LSTM, teacher-forced, with the attributes and the previous
  record as input; sampled like AR.
* ``NaiveGAN``: an MLP generator of attributes and the whole flattened series
  at once and an MLP critic, trained with WGAN-GP.

AR and RNN model P(records | attributes); their attributes are drawn from the
training attributes (a bootstrap), which gives them the real marginal for
free. HMM is left out, so as not to add a dependency for it.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import tensorflow as tf

from dgkeras.encoding import Encoder

AR_ORDER = 3


def encode(df: pd.DataFrame, schema) -> tuple:
    """Fit the baseline encoding: one record per step, global [0, 1] scaling."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sample_len=1 is far above 50 steps on long data
        encoder = Encoder(schema, sample_len=1, auto_normalize=False).fit(df)
    data = encoder.transform(df)
    return encoder, data


def _decode(encoder, attributes, records, lengths) -> pd.DataFrame:
    n = len(records)
    return encoder.inverse_transform(attributes, np.zeros((n, 0), np.float32), records, lengths)


def _stop_lengths(stop_probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Series lengths from per-step stop probabilities (the first sampled stop ends it)."""
    stops = rng.random(stop_probs.shape) < stop_probs
    stops[:, -1] = True
    return stops.argmax(axis=1) + 1


class _Autoregressive:
    """Shared training and sampling of the AR and RNN baselines."""

    def __init__(self, epochs: int, batch_size: int = 100, seed: int = 0) -> None:
        self.epochs, self.batch_size, self.seed = epochs, batch_size, seed

    def fit(self, df: pd.DataFrame, schema) -> "_Autoregressive":
        tf.keras.utils.set_random_seed(self.seed)
        self.encoder, data = encode(df, schema)
        records = data.features[..., :-2]  # continuous features in [0, 1]
        n, t, f = records.shape
        self.shape = (t, f)
        previous = np.concatenate([np.zeros((n, 1, f), np.float32), records[:, :-1]], axis=1)
        stop = (np.arange(t)[None, :] == (data.lengths - 1)[:, None]).astype(np.float32)
        mask = (np.arange(t)[None, :] < data.lengths[:, None]).astype(np.float32)
        self.attributes = data.attributes
        self.model = self.build(data.attributes.shape[1], f)
        inputs = self.inputs(data.attributes, previous)
        targets = np.concatenate([records, stop[..., None]], axis=-1)
        self.model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss=_masked_loss(f))
        start = time.perf_counter()
        self.model.fit(inputs, np.concatenate([targets, mask[..., None]], axis=-1),
                       epochs=self.epochs, batch_size=self.batch_size, verbose=0)
        self.fit_seconds = time.perf_counter() - start
        predicted = self.model.predict(inputs, batch_size=1000, verbose=0)[..., :f]
        residual = (predicted - records)[mask.astype(bool)]
        self.noise_std = residual.std(axis=0)
        return self

    def sample(self, n: int, seed: int = 0) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        attributes = self.attributes[rng.integers(0, len(self.attributes), n)]
        t, f = self.shape
        records = np.zeros((n, t, f), np.float32)
        stop_probs = np.zeros((n, t))
        state = self.start_state(n)
        for step in range(t):
            output, state = self.step(attributes, records, step, state)
            noise = rng.normal(0, self.noise_std, (n, f))
            records[:, step] = np.clip(output[:, :f] + noise, 0, 1)
            stop_probs[:, step] = output[:, f]
        lengths = _stop_lengths(stop_probs, rng)
        flags = np.zeros((n, t, 2), np.float32)
        return _decode(self.encoder, attributes, np.concatenate([records, flags], -1), lengths)


def _masked_loss(f: int):
    def loss(target_and_mask, output):
        target, mask = target_and_mask[..., :-1], target_and_mask[..., -1]
        squared = tf.reduce_sum(tf.square(output[..., :f] - target[..., :f]), axis=-1)
        stop = tf.keras.losses.binary_crossentropy(target[..., f:], output[..., f:])
        return tf.reduce_sum((squared + stop) * mask) / tf.reduce_sum(mask)
    return loss


class AR(_Autoregressive):
    """MLP on the last ``AR_ORDER`` records and the attributes."""

    def build(self, a: int, f: int) -> tf.keras.Model:
        inputs = tf.keras.Input((None, a + AR_ORDER * f))
        x = tf.keras.layers.Dense(200, activation="relu")(inputs)
        x = tf.keras.layers.Dense(200, activation="relu")(x)
        return tf.keras.Model(inputs, tf.keras.layers.Dense(f + 1, activation="sigmoid")(x))

    def inputs(self, attributes: np.ndarray, previous: np.ndarray) -> np.ndarray:
        n, t, f = previous.shape
        lags = [np.concatenate([np.zeros((n, k, f), np.float32), previous[:, :t - k]], axis=1)
                for k in range(AR_ORDER)]
        return np.concatenate([np.repeat(attributes[:, None], t, 1)] + lags, axis=-1)

    def start_state(self, n: int):
        return None

    def step(self, attributes, records, step, state):
        n, _, f = records.shape
        lags = [records[:, step - 1 - k] if step - 1 - k >= 0 else np.zeros((n, f), np.float32)
                for k in range(AR_ORDER)]
        x = np.concatenate([attributes] + lags, axis=-1)[:, None]
        return self.model(x, training=False).numpy()[:, 0], None


class RNN(_Autoregressive):
    """LSTM with the attributes and the previous record as input, teacher-forced."""

    def build(self, a: int, f: int) -> tf.keras.Model:
        inputs = tf.keras.Input((None, a + f))
        x = tf.keras.layers.LSTM(100, return_sequences=True)(inputs)
        self.lstm_units = 100
        return tf.keras.Model(inputs, tf.keras.layers.Dense(f + 1, activation="sigmoid")(x))

    def inputs(self, attributes: np.ndarray, previous: np.ndarray) -> np.ndarray:
        t = previous.shape[1]
        return np.concatenate([np.repeat(attributes[:, None], t, 1), previous], axis=-1)

    def start_state(self, n: int):
        zeros = tf.zeros((n, self.lstm_units))
        return [zeros, zeros]

    def step(self, attributes, records, step, state):
        n, _, f = records.shape
        lstm, dense = self.model.layers[1], self.model.layers[2]
        previous = records[:, step - 1] if step else np.zeros((n, f), np.float32)
        x = tf.constant(np.concatenate([attributes, previous], axis=-1))
        h, state = lstm.cell(x, state)
        return dense(h).numpy(), state


def _blocks(outputs):
    """(start, end, activation) of consecutive output blocks."""
    blocks, start = [], 0
    for output in outputs:
        blocks.append((start, start + output.dim, output.activation))
        start += output.dim
    return blocks


def _activate(raw, blocks, axis):
    parts = [tf.nn.softmax(tf.gather(raw, tf.range(s, e), axis=axis), axis=axis)
             if kind == "softmax" else tf.sigmoid(tf.gather(raw, tf.range(s, e), axis=axis))
             for s, e, kind in blocks]
    if not parts:
        return raw
    return tf.concat(parts, axis=axis)


class NaiveGAN:
    """MLP generator of attributes + flattened series, MLP critic, WGAN-GP."""

    def __init__(self, epochs: int, batch_size: int = 100, seed: int = 0,
                 noise_dim: int = 32) -> None:
        self.epochs, self.batch_size, self.seed, self.noise_dim = epochs, batch_size, seed, \
            noise_dim

    def fit(self, df: pd.DataFrame, schema) -> "NaiveGAN":
        tf.keras.utils.set_random_seed(self.seed)
        self.encoder, data = encode(df, schema)
        n, t, w = data.features.shape
        self.a, self.t, self.w = data.attributes.shape[1], t, w
        real = np.concatenate([data.attributes, data.features.reshape(n, -1)], axis=1)
        width = real.shape[1]
        self.generator = tf.keras.Sequential(
            [tf.keras.Input((self.noise_dim,))]
            + [tf.keras.layers.Dense(200, activation="relu") for _ in range(3)]
            + [tf.keras.layers.Dense(width)])
        critic = tf.keras.Sequential(
            [tf.keras.Input((width,))]
            + [tf.keras.layers.Dense(200, activation="relu") for _ in range(3)]
            + [tf.keras.layers.Dense(1)])
        g_opt = tf.keras.optimizers.Adam(1e-3, beta_1=0.5)
        c_opt = tf.keras.optimizers.Adam(1e-3, beta_1=0.5)
        attribute_blocks = _blocks(self.encoder.attribute_outputs)
        record_blocks = _blocks(self.encoder.feature_outputs)

        def activate(raw):
            # Records are activated as a (batch, T, w) block, so the graph does not
            # grow with the series length.
            attributes = _activate(raw[:, :self.a], attribute_blocks, axis=1)
            records = tf.reshape(raw[:, self.a:], (-1, self.t, self.w))
            records = _activate(records, record_blocks, axis=2)
            return tf.concat([attributes, tf.reshape(records, (-1, self.t * self.w))], axis=1)

        self.activate = activate

        @tf.function
        def step(batch):
            size = tf.shape(batch)[0]
            noise = tf.random.normal((size, self.noise_dim))
            with tf.GradientTape() as tape:
                fake = activate(self.generator(noise))
                mix = tf.random.uniform((size, 1))
                between = mix * batch + (1 - mix) * fake
                with tf.GradientTape() as inner:
                    inner.watch(between)
                    score = critic(between)
                slopes = tf.norm(inner.gradient(score, between), axis=1)
                loss = (tf.reduce_mean(critic(fake)) - tf.reduce_mean(critic(batch))
                        + 10.0 * tf.reduce_mean((slopes - 1.0) ** 2))
            c_opt.apply_gradients(zip(tape.gradient(loss, critic.trainable_variables),
                                      critic.trainable_variables))
            with tf.GradientTape() as tape:
                g_loss = -tf.reduce_mean(critic(activate(self.generator(noise))))
            g_opt.apply_gradients(zip(tape.gradient(g_loss, self.generator.trainable_variables),
                                      self.generator.trainable_variables))
            return loss

        dataset = tf.data.Dataset.from_tensor_slices(real.astype(np.float32))
        start = time.perf_counter()
        for _ in range(self.epochs):
            for batch in dataset.shuffle(n, seed=self.seed).batch(self.batch_size,
                                                                   drop_remainder=True):
                step(batch)
        self.fit_seconds = time.perf_counter() - start
        return self

    def sample(self, n: int, seed: int = 0) -> pd.DataFrame:
        noise = tf.random.stateless_normal((n, self.noise_dim), seed=(seed, 1))
        out = self.activate(self.generator(noise)).numpy()
        attributes = out[:, :self.a]
        records = out[:, self.a:].reshape(n, self.t, self.w)
        # The series ends at the first step whose end flag wins, as in dgkeras.
        ends = records[..., -1] > records[..., -2]
        ends[:, -1] = True
        lengths = ends.argmax(axis=1) + 1
        return _decode(self.encoder, attributes, records, lengths)
