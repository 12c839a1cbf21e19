"""Train with differential privacy (DP-SGD on both critics) and check what was spent.

    python examples/dp_training.py            # epsilon 10, 200 epochs, about 3 minutes
    python examples/dp_training.py --quick    # a smoke run
"""

import argparse

from dgkeras import DGSynthesizer
from dgkeras.datasets import load_fcc_mba
from dgkeras.membership import membership_inference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few epochs only")
    parser.add_argument("--epsilon", type=float, default=10.0)
    args = parser.parse_args()

    df, schema = load_fcc_mba()
    train = df[df["home_id"] < 500]
    holdout = df[df["home_id"] >= 500]
    synth = DGSynthesizer(epsilon=args.epsilon, epochs=2 if args.quick else 200,
                          random_state=0, verbose=0)
    synth.fit(train, schema)
    print(f"target epsilon {args.epsilon}: spent epsilon {synth.epsilon_:.3f} at delta "
          f"{synth.delta_:.2e}, noise multiplier {synth.noise_multiplier_:.3f}")
    attack = membership_inference(synth, train, holdout, random_state=0)
    print(f"membership-inference success {attack.success_rate:.2f} (0.5 is a coin flip)")
    fake = synth.sample(100, random_state=0)
    print(f"sampled {fake['home_id'].nunique()} homes, {len(fake)} records")


if __name__ == "__main__":
    main()
