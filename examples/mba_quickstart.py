"""Fit DoppelGANger on the FCC MBA data, sample, and compare a few statistics.

    python examples/mba_quickstart.py            # 400 epochs, about 2 minutes on 2 cores
    python examples/mba_quickstart.py --quick    # 5 epochs, a smoke run
"""

import argparse

from dgkeras import DGSynthesizer
from dgkeras.datasets import load_fcc_mba
from dgkeras.summary import summarize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few epochs only")
    parser.add_argument("--output", default="synthetic_fcc_mba.csv")
    args = parser.parse_args()

    df, schema = load_fcc_mba()
    synth = DGSynthesizer(epochs=5 if args.quick else 400, random_state=0)
    synth.fit(df, schema)
    fake = synth.sample(600, random_state=0)
    fake.to_csv(args.output, index=False)
    print(summarize(df, fake, schema, group_by="technology"))
    # Conditional generation: ten DSL homes of one ISP in one state.
    given = df.groupby("home_id")[["isp", "technology", "state"]].first()
    given = given[given["technology"] == "DSL"].head(1)
    dsl = synth.sample(attributes=given.loc[given.index.repeat(10)], random_state=1)
    print(f"\n10 homes with {given.iloc[0].to_dict()}: mean traffic "
          f"{dsl['traffic_byte_counter'].mean():.4f} (real DSL homes: "
          f"{df.loc[df.technology == 'DSL', 'traffic_byte_counter'].mean():.4f})")


if __name__ == "__main__":
    main()
