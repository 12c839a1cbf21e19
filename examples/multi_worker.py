"""Train on two workers with MultiWorkerMirroredStrategy (TF_CONFIG), here on one machine.

Start one process per worker, each with its own TF_CONFIG; this script starts
both on localhost so the example runs anywhere:

    python examples/multi_worker.py            # 2 workers, 50 epochs on the MBA data
    python examples/multi_worker.py --quick    # 2 workers, 2 epochs

On real machines, run the same training script on each host with, e.g. on the
first host::

    TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]},
                "task": {"type": "worker", "index": 0}}' python train.py

and ``"index": 1`` on the second. Worker 0 (the chief) saves the model.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile

WORKER = """
import json, os, sys
import tensorflow as tf
strategy = tf.distribute.MultiWorkerMirroredStrategy()   # reads TF_CONFIG
from dgkeras import DGSynthesizer
from dgkeras.datasets import load_fcc_mba

df, schema = load_fcc_mba()
synth = DGSynthesizer(epochs=int(sys.argv[1]), batch_size=100, random_state=0,
                      strategy=strategy, verbose=0).fit(df, schema)
task = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
if task == 0:
    synth.save(sys.argv[2])
print(json.dumps({"worker": task, "replicas": strategy.num_replicas_in_sync,
                  "final_losses": synth.history_.iloc[-1].round(4).to_dict()}))
"""


def free_ports(k):
    sockets = [socket.socket() for _ in range(k)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs only")
    parser.add_argument("--output", default="multi_worker_model.dgk")
    args = parser.parse_args()
    epochs = 2 if args.quick else 50
    workers = [f"localhost:{port}" for port in free_ports(2)]
    with tempfile.TemporaryDirectory() as folder:
        script = os.path.join(folder, "worker.py")
        with open(script, "w") as f:
            f.write(WORKER)
        children = []
        for index in range(2):
            config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
            env = {**os.environ, "TF_CONFIG": json.dumps(config), "TF_CPP_MIN_LOG_LEVEL": "3"}
            children.append(subprocess.Popen(
                [sys.executable, script, str(epochs), os.path.abspath(args.output)], env=env,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        for child in children:
            out, err = child.communicate()
            if child.returncode:
                sys.exit(f"a worker failed:\n{err[-3000:]}")
            print(out.strip().splitlines()[-1])
    print(f"the chief saved {args.output}")


if __name__ == "__main__":
    main()
