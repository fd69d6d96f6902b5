#!/usr/bin/env python3
"""Writes the seed inputs of the tf_bundle fuzz target (fuzz/tf_bundle_fuzz.cpp) into
fuzz/corpus/tf_bundle: tiny tf.train.Saver checkpoints, each as a little-endian u16 index length,
the P.index bytes, then the P.data-00000-of-00001 bytes. Needs tensorflow (pip install
tensorflow-cpu); the build and the fuzz step only read the committed seeds."""
import os
import struct
import sys
import tempfile

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402

tf.compat.v1.disable_eager_execution()


def bundle(folder, variables):
    """Saves `variables` (name -> numpy value) at step 3 and returns the seed bytes."""
    with tf.Graph().as_default():
        for name, value in variables.items():
            tf.compat.v1.Variable(value, name=name)
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as s:
            s.run(tf.compat.v1.global_variables_initializer())
            saver.save(s, os.path.join(folder, "model.ckpt"), global_step=3)
    prefix = os.path.join(folder, "model.ckpt-3")
    index = open(prefix + ".index", "rb").read()
    data = open(prefix + ".data-00000-of-00001", "rb").read()
    return struct.pack("<H", len(index)) + index + data


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/tf_bundle"
    rng = np.random.RandomState(1)
    seeds = {
        # float32, int64, float16 and uint8 tensors (what y8m-import loads), as a model writes them
        "seed-mixed": {"tower/w": rng.randn(2, 3).astype(np.float32),
                       "tower/b": np.zeros([3], np.float32),
                       "global_step": np.int64(3),
                       "tower/h": rng.randn(4).astype(np.float16),
                       "tower/q_quants": np.arange(5, dtype=np.uint8)},
        # one scalar: the smallest bundle
        "seed-one": {"x": np.float32(1.5)},
    }
    os.makedirs(out, exist_ok=True)
    for name, variables in seeds.items():
        with tempfile.TemporaryDirectory() as tmp:
            data = bundle(tmp, variables)
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(name, len(data), "bytes")


if __name__ == "__main__":
    main()
