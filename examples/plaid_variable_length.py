"""Variable-length series: PLAID appliance current signatures (lengths 200..1000).

The appliance class is the attribute; series length depends on it. The example fits on
PLAID and compares the length distribution per class, real against synthetic.

    python examples/plaid_variable_length.py PATH/TO/PLAID_TRAIN.ts
    python examples/plaid_variable_length.py tests/data/plaid_subset.ts --quick
"""

import argparse

from dgkeras import DGSynthesizer
from dgkeras.io import read_sktime_ts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="a PLAID .ts file")
    parser.add_argument("--quick", action="store_true", help="a few epochs only")
    args = parser.parse_args()

    df, schema = read_sktime_ts(args.path)
    synth = DGSynthesizer(epochs=3 if args.quick else 300, random_state=0)
    synth.fit(df, schema)
    n_series = df["series"].nunique()
    fake = synth.sample(n_series, random_state=0)
    for name, frame in (("real", df), ("synthetic", fake)):
        lengths = frame.groupby("series").agg(label=("label", "first"), length=("step", "size"))
        print(f"\n{name}: series length by class (median)")
        print(lengths.groupby("label")["length"].median().to_string())


if __name__ == "__main__":
    main()
