"""Write model_v1.dgk and model_v1_sample.csv, the saved-model fixture of format version 1.

Run once per model-file format version, never to refresh an existing fixture:
the point of the fixture is that later versions of dgkeras must still load
files written by this one and sample the same values from them.

    python tests/data/make_model_fixture.py
"""

import pathlib
import sys

HERE = pathlib.Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from conftest import SMALL, attribute_frame  # noqa: E402

from dgkeras import DGSynthesizer  # noqa: E402

if __name__ == "__main__":
    df, schema = attribute_frame()
    synth = DGSynthesizer(epochs=3, batch_size=8, random_state=0, **SMALL).fit(df, schema)
    synth.save(HERE / "model_v1.dgk")
    synth.sample(20, random_state=5).to_csv(HERE / "model_v1_sample.csv", index=False)
