"""Write the tf215_* fixture: a saved model and a pickle written on the TensorFlow 2.15 stack.

TensorFlow 2.15 with Keras 2 and NumPy 1 was the only stack of dgkeras 0.1.0.
These files were written there, once, so that every later stack (Keras 3,
NumPy 2) is tested on loading them and sampling the same values:

    tf215_model.dgk      a plain fit, saved with DGSynthesizer.save
    tf215_model.pkl      the same model, pickled
    tf215_dp_model.dgk   a DP-SGD fit (noise from TensorFlow Privacy), saved
    tf215_sample.csv     tf215_model's sample(20, random_state=5)
    tf215_dp_sample.csv  tf215_dp_model's sample(20, random_state=5)

Never rerun it to refresh the files; run it only on the stack it names:

    python tests/data/make_stack_fixture.py
"""

import pathlib
import pickle
import sys

HERE = pathlib.Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from conftest import SMALL, attribute_frame  # noqa: E402

from dgkeras import DGSynthesizer  # noqa: E402

if __name__ == "__main__":
    import tensorflow as tf

    if not tf.__version__.startswith("2.15."):
        sys.exit(f"this fixture is written on TensorFlow 2.15, not {tf.__version__}")
    df, schema = attribute_frame()
    plain = DGSynthesizer(epochs=3, batch_size=8, random_state=0, **SMALL).fit(df, schema)
    plain.save(HERE / "tf215_model.dgk")
    (HERE / "tf215_model.pkl").write_bytes(pickle.dumps(plain))
    plain.sample(20, random_state=5).to_csv(HERE / "tf215_sample.csv", index=False)
    private = DGSynthesizer(epochs=2, batch_size=8, random_state=0, noise_multiplier=1.0,
                            **SMALL).fit(df, schema)
    private.save(HERE / "tf215_dp_model.dgk")
    private.sample(20, random_state=5).to_csv(HERE / "tf215_dp_sample.csv", index=False)
