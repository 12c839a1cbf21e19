"""Runs one distributed fit for tests/test_distributed.py in a fresh process.

TensorFlow fixes its devices and its cluster at start-up, so each setting
needs its own interpreter:

    python distributed_run.py mirrored OUT.json      # 1 device vs 2 logical CPUs
    python distributed_run.py dp-noise OUT.json      # DP noise scale on 2 replicas
    python distributed_run.py worker OUT.npz         # one MultiWorkerMirroredStrategy worker
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

MODE, OUT = sys.argv[1], sys.argv[2]
if MODE in ("mirrored", "dp-noise"):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    STRATEGY = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
else:
    STRATEGY = tf.distribute.MultiWorkerMirroredStrategy()

from conftest import SMALL, attribute_frame, attribute_networks  # noqa: E402

from dgkeras import DGSynthesizer  # noqa: E402

LOSSES = ["critic_loss", "aux_critic_loss", "generator_loss"]


def fit(strategy=None, **params):
    df, schema = attribute_frame()
    settings = dict(epochs=4, batch_size=8, random_state=0, strategy=strategy, **SMALL)
    settings.update(params)
    return DGSynthesizer(**settings).fit(df, schema)


def max_weight_difference(a, b):
    wa, wb = a.model_.get_weights(), b.model_.get_weights()
    return max(float(np.abs(x - y).max()) for k in wa for x, y in zip(wa[k], wb[k]))


if MODE == "mirrored":
    one, two = fit(steps_per_call=1), fit(STRATEGY, steps_per_call=1)
    result = {"replicas": STRATEGY.num_replicas_in_sync,
              "one": one.history_[LOSSES].to_numpy().tolist(),
              "two": two.history_[LOSSES].to_numpy().tolist(),
              "max_weight_difference": max_weight_difference(one, two),
              "sample_difference": float(np.abs(
                  one.sample(30, random_state=1)["usage"].to_numpy()
                  - two.sample(30, random_state=1)["usage"].to_numpy()).max())}
    # Several steps per compiled call on two replicas: still the same updates.
    result["multi_step_weight_difference"] = max_weight_difference(
        one, fit(STRATEGY, steps_per_call=3))
    # One pair of fits for the options that each replica must do as one device does
    # (any of them done per replica would move the weights apart): packed critics
    # (each replica forms the packs one device forms), the generators' weight
    # average (in mirrored variables) and the pull towards the value frequencies
    # (the shares of the global batch).
    options = dict(packing=2, ema_decay=0.5, marginal_weight=5.0, steps_per_call=1)
    result["options_weight_difference"] = max_weight_difference(fit(**options),
                                                                fit(STRATEGY, **options))
    # The same weights sample the same series on one device and split across two.
    from dgkeras.sampling import Sampler

    replicated = Sampler(two.encoder_, two.model_, two.strategy)
    two_arrays = list(replicated.blocks(replicated.request(2500, None, None, 3)))
    local = Sampler(two.encoder_, two.model_)
    one_arrays = list(local.blocks(local.request(2500, None, None, 3)))
    result["replicated_sampling_difference"] = max(
        float(np.abs(a - b).max()) for x, y in zip(one_arrays, two_arrays)
        for a, b in zip(x, y))
elif MODE == "dp-noise":
    # One critic update's gradient under DP with a tiny clip norm is almost pure
    # noise: its standard deviation must be sigma * C / b after the all-reduce.
    from dgkeras.gan import DoppelGANger
    from dgkeras.privacy import DPSettings
    from dgkeras.training import Trainer, TrainingConfig

    data, config = attribute_networks(critic_units=(256, 256))
    dp = DPSettings(noise_multiplier=5.0, l2_norm_clip=1e-4, sampling_probability=0.4,
                    expected_batch_size=12.0, steps=10, uses_per_step=1, delta=1e-3)
    with STRATEGY.scope():
        model = DoppelGANger(config)
    trainer = Trainer(model, TrainingConfig(batch_size=12, seed=5, dp=dp), n_series=30,
                      strategy=STRATEGY)
    trainer._data = [tf.constant(a) for a in (data.attributes, data.minmax, data.features)]

    @tf.function
    def summed_gradient():
        def replica():
            context = tf.distribute.get_replica_context()
            rows = tf.range(context.replica_id_in_sync_group, 12, 2)
            batch = [tf.gather(t, rows) for t in trainer._data]
            grads, aux, _ = trainer.critic_gradients(*batch, rows, 12, tf.constant(0, tf.int64))
            return context.all_reduce(tf.distribute.ReduceOp.SUM, grads + aux)
        return STRATEGY.experimental_local_results(STRATEGY.run(replica))[0]

    values = np.concatenate([g.numpy().ravel() for g in summed_gradient()])
    result = {"std": float(values.std()), "expected": 5.0 * 1e-4 / 12.0, "n": int(values.size)}
else:
    synth = fit(STRATEGY, epochs=3)
    weights = synth.model_.get_weights()
    np.savez(OUT, **{f"{k}/{i}": w for k, ws in weights.items() for i, w in enumerate(ws)},
             history=synth.history_[LOSSES].to_numpy())
    sys.exit(0)

with open(OUT, "w") as f:
    json.dump(result, f)
