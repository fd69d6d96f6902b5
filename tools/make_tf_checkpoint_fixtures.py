#!/usr/bin/env python3
"""Writes tests/fixtures/tf_checkpoints: TensorFlow 1 checkpoints of the original's models and TF's
predictions on a fixed batch, for y8m-import's tests (tests/io/tf_bundle_test.cpp,
tests/pipeline/tf_import_test.cpp, tests/apps/import_tf_checkpoint.sh).

The graphs follow SPEC §1.6-1.8, §2 and §3 (NetVLADModelLF, NetFVModelLF, GatedDbofModelLF,
SoftDbofModelLF) with tf.compat.v1 under the scope "tower/", with small sizes: 1024+128 features,
10 classes, and max_frames = iterations = 5 frame slots with --sample_all, every video having 5
frames, so that frame sampling is the identity (SPEC §1.8). Weights, including the batch-norm statistics, are
random; batch norm runs in inference mode (SPEC §2.1). Saved with tf.compat.v1.train.Saver (V2
bundle format):

  netvlad/model.ckpt-7     NetVLADModelLF with Adam slots, global_step and EMA shadows
                           (<var>/ExponentialMovingAverage, SPEC §7) holding other values; a
                           "checkpoint" file and model_flags.json beside it
  netvlad_quant/inference_model   the same weights quantized as quantize.py's quant_uniform with
                           min_elements 17000 (SPEC §11): <name>_quants u8 + <name>_space f32[256]
  netvlad_fp16/inference_model    the same with quantize.py's float16: <name>float16
  netfv/inference_model    NetFVModelLF (eval.py's export name), model_flags.json beside it
  dbof/model.ckpt-3        GatedDbofModelLF, saved sharded over two CPU devices (2 data shards)
  softdbof/model.ckpt-5    SoftDbofModelLF with the LogisticModel head, without global_step

  batch.tfrecord           3 frame-level SequenceExamples (ids vid0..vid2, 5 frames each)
  <name>.predictions.txt   "<video id> p_0 ... p_9" per line (%.9g), TF's output on the batch
                           (netvlad_ema: the EMA weights; netvlad_quant, netvlad_fp16: the
                           dequantized ones)
  flags.txt                "<folder> <y8m-import architecture flags>" per line

Usage: pip install tensorflow-cpu; python3 tools/make_tf_checkpoint_fixtures.py tests/fixtures/tf_checkpoints
"""
import json
import math
import os
import shutil
import sys

import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1
V = 10
S = 5  # max_frames = iterations
B = 3
FEATURES = (1024, 128)

COMMON = f"--num_classes={V} --max_frames={S} --iterations={S} --sample_all"
MODELS = {
    "netvlad": dict(model="NetVLADModelLF", K=4, H=4, M=2, prob_gating=True,
                    flags="--model=NetVLADModelLF --netvlad_cluster_size=4 "
                          "--netvlad_hidden_size=4 --netvlad_relu=False --gating "
                          "--moe_num_mixtures=2 --moe_prob_gating"),
    "netfv": dict(model="NetFVModelLF", K=4, H=4, M=3, prob_gating=True,
                  flags="--model=NetFVModelLF --fv_cluster_size=4 --fv_hidden_size=4 "
                        "--fv_relu=False --fv_couple_weights=False --gating "
                        "--moe_num_mixtures=3 --moe_prob_gating"),
    "dbof": dict(model="GatedDbofModelLF", K=16, H=4, M=2, prob_gating=False,
                 flags="--model=GatedDbofModelLF --dbof_cluster_size=16 "
                       "--dbof_hidden_size=4 --dbof_relu=False --moe_num_mixtures=2"),
    "softdbof": dict(model="SoftDbofModelLF", K=16, H=4, head="LogisticModel",
                     flags="--model=SoftDbofModelLF --dbof_cluster_size=16 "
                           "--dbof_hidden_size=4 --dbof_relu=False "
                           "--video_level_classifier_model=LogisticModel"),
}


def rnd(shape, std=1.0, mean=0.0):
    return tf1.random_normal_initializer(mean=mean, stddev=std)


def bn(x, scope):
    """slim.batch_norm(center, scale) in inference mode, epsilon 1e-3, with random statistics."""
    c = x.shape[-1]
    with tf1.variable_scope(scope):
        beta = tf1.get_variable("beta", [c], initializer=rnd(None, 0.1))
        gamma = tf1.get_variable("gamma", [c], initializer=rnd(None, 0.1, 1.0))
        mean = tf1.get_variable("moving_mean", [c], initializer=rnd(None, 0.1), trainable=False)
        var = tf1.get_variable("moving_variance", [c],
                               initializer=tf1.random_uniform_initializer(0.5, 1.5),
                               trainable=False)
        tf1.add_to_collection(tf1.GraphKeys.MODEL_VARIABLES, mean)
        tf1.add_to_collection(tf1.GraphKeys.MODEL_VARIABLES, var)
    return gamma * (x - mean) / tf.sqrt(var + 1e-3) + beta


def l2n(x, axis):
    return tf.nn.l2_normalize(x, axis)


def sample_all(x, n):
    """SampleRandomFrames with --sample_all (SPEC §1.8): slot t < n takes frame t."""
    bsz = tf.shape(x)[0]
    u = tf1.random_uniform([bsz, S])
    rand_idx = tf.cast(u * tf.cast(tf.expand_dims(n, 1), tf.float32), tf.int32)
    t = tf.tile(tf.expand_dims(tf.range(S), 0), [bsz, 1])
    idx = tf.where(t < tf.expand_dims(n, 1), t, rand_idx)
    return tf.gather(x, idx, batch_dims=1)


def vlad(z, f, k):
    cw = tf1.get_variable("cluster_weights", [f, k], initializer=rnd(None, 1 / math.sqrt(f)))
    a = tf.nn.softmax(bn(tf.matmul(z, cw), "cluster_bn"))
    a = tf.reshape(a, [-1, S, k])
    asum = tf.reduce_sum(a, -2, keepdims=True)
    c = tf1.get_variable("cluster_weights2", [1, f, k], initializer=rnd(None, 1 / math.sqrt(f)))
    zz = tf.reshape(z, [-1, S, f])
    v = tf.transpose(tf.matmul(tf.transpose(a, [0, 2, 1]), zz), [0, 2, 1]) - asum * c
    v = l2n(v, 1)
    v = tf.reshape(v, [-1, f * k])
    return l2n(v, 1)


def fv(z, f, k):
    cw = tf1.get_variable("cluster_weights", [f, k], initializer=rnd(None, 1 / math.sqrt(f)))
    cov = tf1.get_variable("covar_weights", [f, k], initializer=rnd(None, 1 / math.sqrt(f), 1.0))
    sigma = tf.square(cov) + 1e-6
    a = tf.nn.softmax(bn(tf.matmul(z, cw), "cluster_bn"))
    a = tf.reshape(a, [-1, S, k])
    asum = tf.reduce_sum(a, -2, keepdims=True)
    mu = tf1.get_variable("cluster_weights2", [1, f, k], initializer=rnd(None, 1 / math.sqrt(f)))
    zz = tf.reshape(z, [-1, S, f])
    at = tf.transpose(a, [0, 2, 1])
    s1 = tf.transpose(tf.matmul(at, zz), [0, 2, 1])
    s2 = tf.transpose(tf.matmul(at, tf.square(zz)), [0, 2, 1])
    fv1 = l2n((s1 - asum * mu) / sigma, 1)
    fv1 = l2n(tf.reshape(fv1, [-1, f * k]), 1)
    fv2 = (asum * tf.square(mu) + s2 - 2 * mu * s1) / tf.square(sigma) - asum
    fv2 = l2n(tf.reshape(fv2, [-1, f * k]), 1)
    return tf.concat([fv1, fv2], 1)


def dbof(z, f, k, gated):
    cw = tf1.get_variable("cluster_weights", [f, k], initializer=rnd(None, 1 / math.sqrt(f)))
    a = tf.nn.softmax(bn(tf.matmul(z, cw), "cluster_bn"))
    a = tf.reshape(a, [-1, S, k])
    s = tf.reduce_sum(a, 1)
    if not gated:
        return l2n(s, 1)
    m = l2n(tf.reduce_max(a, 1), 1)
    dr = tf1.get_variable("dim_red", [k, f], initializer=rnd(None, 1 / math.sqrt(f)))
    w2 = tf1.get_variable("cluster_weights_2", [f, k], initializer=rnd(None, 1 / math.sqrt(f)))
    g = tf.sigmoid(bn(tf.matmul(tf.matmul(m, dr), w2), "cluster_bn_2"))
    return l2n(g * s, 1)


def moe(x, m, prob_gating):
    din = int(x.shape[-1])
    wg = tf1.get_variable("gates/weights", [din, V * (m + 1)], initializer=rnd(None, 0.5))
    we = tf1.get_variable("experts/weights", [din, V * m], initializer=rnd(None, 0.5))
    be = tf1.get_variable("experts/biases", [V * m], initializer=rnd(None, 0.1))
    gd = tf.nn.softmax(tf.reshape(tf.matmul(x, wg), [-1, m + 1]))
    ed = tf.sigmoid(tf.reshape(tf.matmul(x, we) + be, [-1, m]))
    p = tf.reshape(tf.reduce_sum(gd[:, :m] * ed, 1), [-1, V])
    if prob_gating:
        wpg = tf1.get_variable("gating_prob_weights", [V, V],
                               initializer=rnd(None, 1 / math.sqrt(V)))
        p = p * tf.sigmoid(bn(tf.matmul(p, wpg), "gating_prob_bn"))
    return p


def model(name, spec, frames, n):
    k, h = spec["K"], spec["H"]
    x = sample_all(frames, n)
    z = bn(tf.reshape(x, [-1, sum(FEATURES)]), "input_bn")
    zv, za = z[:, :FEATURES[0]], z[:, FEATURES[0]:]
    if name == "netvlad":
        with tf1.variable_scope("video_VLAD"):
            v = vlad(zv, FEATURES[0], k)
        with tf1.variable_scope("audio_VLAD"):
            a = vlad(za, FEATURES[1], k // 2)
    elif name == "netfv":
        with tf1.variable_scope("video_FV"):
            v = fv(zv, FEATURES[0], k)
        with tf1.variable_scope("audio_FV"):
            a = fv(za, FEATURES[1], k // 2)
    else:
        with tf1.variable_scope("video_DBOF"):
            v = dbof(zv, FEATURES[0], k, name == "dbof")
        with tf1.variable_scope("audio_DBOF"):
            a = dbof(za, FEATURES[1], k // 8, False)
    d = tf.concat([v, a], 1)
    w1 = tf1.get_variable("hidden1_weights", [int(d.shape[-1]), h],
                          initializer=rnd(None, 1 / math.sqrt(k)))
    b1 = tf1.get_variable("hidden1_biases", [h], initializer=rnd(None, 0.01))
    act = tf.matmul(d, w1) + b1
    if "dbof" not in name:  # CG-BN (SPEC §2.4); the DBoF models ignore --gating
        wg = tf1.get_variable("gating_weights_2", [h, h], initializer=rnd(None, 1 / math.sqrt(h)))
        act = act * tf.sigmoid(bn(tf.matmul(act, wg), "gating_bn"))
    if spec.get("head") == "LogisticModel":  # slim.fully_connected's default scope (SPEC §2.3)
        w = tf1.get_variable("fully_connected/weights", [h, V], initializer=rnd(None, 0.5))
        b = tf1.get_variable("fully_connected/biases", [V], initializer=rnd(None, 0.1))
        return tf.sigmoid(tf.matmul(act, w) + b)
    return moe(act, spec["M"], spec["prob_gating"])


def make_batch():
    """u8 frames (B, S, 1152), their SequenceExamples and the dequantized float input."""
    rng = np.random.RandomState(1234)
    q = rng.randint(0, 256, size=(B, S, sum(FEATURES))).astype(np.uint8)
    records = []
    for b in range(B):
        ctx = tf.train.Features(feature={
            "id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[f"vid{b}".encode()])),
            "labels": tf.train.Feature(int64_list=tf.train.Int64List(value=[b])),
        })
        lists = {}
        for name, lo, hi in (("rgb", 0, FEATURES[0]), ("audio", FEATURES[0], sum(FEATURES))):
            lists[name] = tf.train.FeatureList(feature=[
                tf.train.Feature(bytes_list=tf.train.BytesList(value=[q[b, t, lo:hi].tobytes()]))
                for t in range(S)])
        ex = tf.train.SequenceExample(context=ctx,
                                      feature_lists=tf.train.FeatureLists(feature_list=lists))
        records.append(ex.SerializeToString(deterministic=True))
    # SPEC §1.6: x = q * (4/255) + (4/512 - 2), in float32 as the reader computes it.
    x = q.astype(np.float32) * np.float32(4.0 / 255.0) + np.float32(4.0 / 512.0 - 2.0)
    return q, records, x


def write_predictions(path, p):
    with open(path, "w") as f:
        for b in range(p.shape[0]):
            f.write(f"vid{b} " + " ".join("%.9g" % v for v in p[b]) + "\n")


def quantize_uniform(w):
    """quantize.py quant_uniform (SPEC §11): codebook linspace(min, max, 256), nearest entry."""
    flat = w.astype(np.float32).ravel()
    space = np.linspace(flat.min(), flat.max(), 256).astype(np.float32)
    idx = np.abs(flat[:, None] - space[None, :]).argmin(1)  # ties: the lower index
    return idx.astype(np.uint8).reshape(w.shape), space


def build(name, spec, out):
    graph = tf.Graph()
    with graph.as_default():
        tf1.set_random_seed({"netvlad": 1, "netfv": 2, "dbof": 3, "softdbof": 4}[name])
        raw = tf1.placeholder(tf.float32, [None, S, sum(FEATURES)], name="input_batch_raw")
        n = tf1.placeholder(tf.int32, [None], name="num_frames")
        frames = l2n(raw, 2)  # SPEC §1.7
        shard = name == "dbof"
        with tf1.variable_scope("tower"):
            if shard:  # two devices -> a sharded Saver writes two data files
                with tf.device("/cpu:0"):
                    p = model(name, spec, frames, n)
            else:
                p = model(name, spec, frames, n)
        tower_vars = tf1.global_variables()
        extra = []
        if name == "netvlad":
            gs = tf1.train.get_or_create_global_step()
            loss = tf.reduce_sum(p)
            tf1.train.AdamOptimizer(1e-3).minimize(loss, global_step=gs)
            ema = tf1.train.ExponentialMovingAverage(0.999)
            ema.apply(tower_vars)
            extra = [ema.average(v).op.name for v in tower_vars]
        if shard:
            with tf.device("/cpu:1"):
                gs = tf1.train.get_or_create_global_step()
        config = tf1.ConfigProto(device_count={"CPU": 2}, allow_soft_placement=False)
        with tf1.Session(graph=graph, config=config) as sess:
            sess.run(tf1.global_variables_initializer())
            # Adam slots and shadows: random, distinct from the weights.
            rng = np.random.RandomState(77)
            for v in tf1.global_variables():
                if v.name.endswith("/Adam:0") or v.name.endswith("/Adam_1:0") or v.op.name in extra:
                    base = sess.run(v)
                    sess.run(v.assign(base + rng.normal(0, 0.05, base.shape).astype(np.float32)))
            if name == "netvlad":
                sess.run(gs.assign(7))
            elif shard:
                sess.run(gs.assign(3))
            _, _, x = make_batch()
            feed = {raw: x, n: np.full([B], S, np.int32)}
            write_predictions(os.path.join(out, f"{name}.predictions.txt"), sess.run(p, feed))
            folder = os.path.join(out, name)
            os.makedirs(folder)
            saver = tf1.train.Saver(sharded=shard, save_relative_paths=True)
            if name == "netfv":
                saver.save(sess, os.path.join(folder, "inference_model"), write_meta_graph=False)
            else:
                step = {"netvlad": 7, "dbof": 3, "softdbof": 5}[name]  # softdbof: no global_step
                saver.save(sess, os.path.join(folder, "model.ckpt"), global_step=step,
                           write_meta_graph=False)
            with open(os.path.join(folder, "model_flags.json"), "w") as f:
                f.write(json.dumps({"model": spec["model"], "feature_sizes": "1024,128",
                                    "frame_features": True, "feature_names": "rgb,audio",
                                    "label_loss": "CrossEntropyLoss"}))
            if name != "netvlad":
                return
            # The quantized variant (before the EMA swap, from the trained weights).
            values = {v.op.name: sess.run(v) for v in tower_vars}
            # EMA predictions: every shadow copied into its variable (eval.py --use_EMA).
            for v in tower_vars:
                sess.run(v.assign(ema.average(v)))
            write_predictions(os.path.join(out, "netvlad_ema.predictions.txt"), sess.run(p, feed))
            variants = {}
            for variant in ("quant", "fp16"):  # quantize.py's quant_uniform and float16
                qvars, deq = {}, {}
                for vname, w in values.items():
                    if w.dtype != np.float32 or w.size <= 17000:
                        qvars[vname] = deq[vname] = w
                    elif variant == "quant":
                        qi, space = quantize_uniform(w)
                        qvars[vname + "_quants"] = qi
                        qvars[vname + "_space"] = space
                        deq[vname] = space[qi.astype(np.int64)]
                    else:
                        qvars[vname + "float16"] = w.astype(np.float16)
                        deq[vname] = w.astype(np.float16).astype(np.float32)
                for v in tower_vars:
                    sess.run(v.assign(deq[v.op.name]))
                write_predictions(os.path.join(out, f"netvlad_{variant}.predictions.txt"),
                                  sess.run(p, feed))
                variants[variant] = qvars
    for variant, qvars in variants.items():
        qgraph = tf.Graph()
        with qgraph.as_default():
            qv = [tf1.Variable(val, name=k) for k, val in sorted(qvars.items())]
            with tf1.Session(graph=qgraph) as sess:
                sess.run(tf1.global_variables_initializer())
                folder = os.path.join(out, f"netvlad_{variant}")
                os.makedirs(folder)
                tf1.train.Saver(qv, save_relative_paths=True).save(
                    sess, os.path.join(folder, "inference_model"), write_meta_graph=False)
                shutil.copy(os.path.join(out, "netvlad", "model_flags.json"), folder)


def main():
    out = sys.argv[1]
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    tf1.disable_eager_execution()
    _, records, _ = make_batch()
    with tf.io.TFRecordWriter(os.path.join(out, "batch.tfrecord")) as w:
        for r in records:
            w.write(r)
    with open(os.path.join(out, "flags.txt"), "w") as f:
        for name, spec in MODELS.items():
            build(name, spec, out)
            f.write(f"{name} {spec['flags']} {COMMON}\n")
            if name == "netvlad":
                for variant in ("quant", "fp16"):
                    f.write(f"netvlad_{variant} {spec['flags']} {COMMON}\n")


if __name__ == "__main__":
    main()
