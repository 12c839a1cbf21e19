"""Packed critics (PacGAN): the layout of a pack, the batch it needs, and a fit."""

import pickle

import numpy as np
import pytest
import tensorflow as tf
from conftest import SMALL, attribute_frame

from dgkeras import DataError, DGSynthesizer
from dgkeras.gan import NetworkConfig
from dgkeras.networks import pack
from dgkeras.training import packed_batch_size


def test_a_pack_takes_one_row_from_each_block():
    samples = tf.constant(np.arange(12, dtype=np.float32).reshape(6, 2))
    packed = pack(samples, 2).numpy()
    # Rows 0..5 in blocks (0, 1, 2) and (3, 4, 5): packs are rows (0, 3), (1, 4), (2, 5).
    np.testing.assert_array_equal(packed, [[0, 1, 6, 7], [2, 3, 8, 9], [4, 5, 10, 11]])
    np.testing.assert_array_equal(pack(samples, 3).numpy(),
                                  [[0, 1, 4, 5, 8, 9], [2, 3, 6, 7, 10, 11]])
    assert pack(samples, 1) is samples


def test_a_pack_of_unknown_width_keeps_its_rows():
    @tf.function(input_signature=[tf.TensorSpec((None, None), tf.float32)])
    def packed(x):
        return pack(x, 2)

    samples = np.arange(8, dtype=np.float32).reshape(4, 2)
    np.testing.assert_array_equal(packed(samples).numpy(), [[0, 1, 4, 5], [2, 3, 6, 7]])


@pytest.mark.parametrize("batch_size, n_series, packing, replicas, expected", [
    (100, 537, 1, 1, 100),
    (100, 7, 1, 1, 7),
    (100, 537, 3, 1, 99),   # cut to a multiple of the packing
    (100, 50, 4, 2, 48),    # capped at the series, then a multiple of 4 x 2
    (8, 50, 2, 2, 8),
])
def test_packed_batch_size(batch_size, n_series, packing, replicas, expected):
    assert packed_batch_size(batch_size, n_series, packing, replicas) == expected


def test_packed_batch_size_needs_a_whole_pack_per_replica():
    with pytest.raises(DataError, match=r"packing=3 on 2 replica\(s\) needs batches of at "
                                        r"least 6 series; there are 5 series"):
        packed_batch_size(100, 5, 3, 2)


def test_too_few_series_for_a_pack_is_a_data_error():
    df, schema = attribute_frame(n_series=3, length=4)
    with pytest.raises(DataError, match="packing=4 .* needs batches of at least 4 series; "
                                        "there are 3 series"):
        DGSynthesizer(epochs=1, packing=4, **SMALL).fit(df, schema)


def test_packed_critics_read_packs_and_the_model_round_trips(tmp_path):
    df, schema = attribute_frame(n_series=20, length=4)
    plain = DGSynthesizer(epochs=2, batch_size=10, random_state=0, **SMALL).fit(df, schema)
    packed = DGSynthesizer(epochs=2, batch_size=10, packing=3, random_state=0,
                           **SMALL).fit(df, schema)
    width = plain.model_.critic.input_shape[-1]
    aux_width = plain.model_.aux_critic.input_shape[-1]
    assert packed.model_.critic.input_shape[-1] == 3 * width
    assert packed.model_.aux_critic.input_shape[-1] == 3 * aux_width
    assert packed.model_.config.packing == 3
    history = packed.history_[["critic_loss", "aux_critic_loss", "generator_loss"]]
    assert np.isfinite(history.to_numpy()).all()
    # Same seed, same generator initialisation: packing changes what is learned.
    assert not np.allclose(history.to_numpy(),
                           plain.history_[history.columns].to_numpy())
    fake = packed.sample(7, random_state=0)
    assert fake["id"].nunique() == 7
    copy = pickle.loads(pickle.dumps(packed))
    assert copy.model_.config.packing == 3
    assert copy.sample(7, random_state=0).equals(fake)
    packed.save(tmp_path / "packed.dgk")
    assert DGSynthesizer.load(tmp_path / "packed.dgk").sample(7, random_state=0).equals(fake)


def test_a_saved_configuration_without_packing_reads_as_unpacked():
    config = NetworkConfig([], [], [], n_steps=2, sample_len=1)
    data = config.to_dict()
    del data["packing"]
    assert NetworkConfig.from_dict(data).packing == 1


def test_critic_losses_are_means_over_packs():
    from dgkeras.encoding import Encoder
    from dgkeras.gan import DoppelGANger
    from dgkeras.training import Trainer, TrainingConfig, critic_example_losses

    df, schema = attribute_frame(n_series=12, length=4)
    encoder = Encoder(schema).fit(df)
    data = encoder.transform(df)
    config = NetworkConfig(encoder.attribute_outputs, encoder.minmax_outputs,
                           encoder.feature_outputs, encoder.padded_len_ // encoder.sample_len_,
                           encoder.sample_len_, attribute_units=(16,), lstm_units=8,
                           critic_units=(16, 16), packing=3, seed=3)
    model = DoppelGANger(config)
    trainer = Trainer(model, TrainingConfig(batch_size=12, seed=5), n_series=12)
    real = (data.attributes, data.minmax, data.features)
    step = tf.constant(0, tf.int64)
    _, _, losses = trainer.critic_gradients(*real, tf.range(12), 12, step)

    # The same draws by hand: four packs of rows (i, i + 4, i + 8), one mixing weight each.
    fake = model.generate(*trainer._noise(12, step, 0), training=True)
    real_in, real_aux = model.critic_inputs(*real)
    fake_in, fake_aux = model.critic_inputs(*fake)
    rows = np.arange(12).reshape(3, 4).T.ravel()
    real_packs = tf.reshape(tf.gather(real_in, rows), (4, -1))
    fake_packs = tf.reshape(tf.gather(fake_in, rows), (4, -1))
    t = trainer._uniform(12, step, 3)[:4]
    expected = critic_example_losses(model.critic, real_packs, fake_packs, t, 10.0)
    assert expected.shape == (4,)
    assert float(losses["critic_loss"]) == pytest.approx(float(tf.reduce_mean(expected)),
                                                         rel=1e-5)
    t_aux = trainer._uniform(12, step, 4)[:4]
    expected_aux = critic_example_losses(
        model.aux_critic, tf.reshape(tf.gather(real_aux, rows), (4, -1)),
        tf.reshape(tf.gather(fake_aux, rows), (4, -1)), t_aux, 10.0)
    assert float(losses["aux_critic_loss"]) == pytest.approx(
        float(tf.reduce_mean(expected_aux)), rel=1e-5)
