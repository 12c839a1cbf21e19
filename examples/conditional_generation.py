"""Conditional generation on the FCC MBA data: all attributes given, some given, and lengths.

    python examples/conditional_generation.py            # 400 epochs, about 2 minutes on 2 cores
    python examples/conditional_generation.py --quick    # 5 epochs, a smoke run
"""

import argparse

import pandas as pd

from dgkeras import DataError, DGSynthesizer
from dgkeras.datasets import load_fcc_mba


def per_home(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.groupby("home_id")[["isp", "technology", "state"]].first()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few epochs only")
    args = parser.parse_args()

    df, schema = load_fcc_mba()
    synth = DGSynthesizer(epochs=5 if args.quick else 400, random_state=0, verbose=0)
    synth.fit(df, schema)

    # 1. Every attribute given: one series per row, exactly these attributes.
    homes = per_home(df).head(3)
    exact = synth.sample(attributes=homes, random_state=1)
    print("all attributes given:")
    print(per_home(exact).to_string())

    # 2. Some attributes given: 200 fiber homes; ISP and state are drawn from the
    #    model's own distribution given technology = Fiber. A value the model does not
    #    generate (as after a few epochs) cannot be completed: that is a DataError.
    try:
        fiber = synth.sample(attributes=pd.DataFrame({"technology": ["Fiber"] * 200}),
                             random_state=2)
    except DataError as exc:
        print(f"\nno fiber homes from this model: {exc}")
    else:
        shares = per_home(fiber)["isp"].value_counts(normalize=True).head(3)
        real = per_home(df).query("technology == 'Fiber'")["isp"].value_counts(normalize=True)
        print("\nISP shares of 200 generated fiber homes (real fiber homes in brackets):")
        for isp, share in shares.items():
            print(f"  {isp:<16} {share:6.1%}  ({real.get(isp, 0.0):.1%})")

    # 3. A fixed length: one week (28 records of 6 hours) for 5 satellite homes, all
    #    attributes given.
    satellite = per_home(df).query("technology == 'Satellite'").head(5)
    week = synth.sample(attributes=satellite, length=28, random_state=3)
    print(f"\n5 satellite homes, one week each: {len(week)} records, "
          f"{week['home_id'].nunique()} homes, "
          f"mean traffic {week['traffic_byte_counter'].mean():.4f}")


if __name__ == "__main__":
    main()
