#!/usr/bin/env python3
"""Writes the TensorFlow golden fixtures for tests/io/tf_fixtures_test.cpp.

Records are framed by TensorFlow's own tf.io.TFRecordWriter. Canonical records are tf.train messages
serialized by TensorFlow's protobuf (deterministic, i.e. map keys sorted); y8m's encoder must reproduce
their bytes exactly. Non-canonical records are hand-assembled wire bytes covering what TensorFlow's
serializer never emits but readers must accept: unpacked int64/float lists and unknown fields.

The content is a pure function of small parameters listed in manifest.txt, which the C++ test
re-creates:
  frame <file> <index> <id> <id_key> <labels,comma> <num_frames> <salt> <canonical 0/1>
  video <file> <index> <id> <labels,comma> <salt> <canonical 0/1>
Frame byte i of frame t of feature k (k = 0 rgb, 1 audio): (t*31 + i*7 + salt + k) & 0xff.
Video feature value i of feature k: ((i*13 + salt + k) % 97) / 32 - 1.5 (exact in float32).

Usage: pip install tensorflow-cpu; python3 tools/make_tf_fixtures.py tests/io/fixtures
"""
import os
import struct
import sys

import tensorflow as tf


def frame_bytes(t, size, salt, k):
    return bytes(((t * 31 + i * 7 + salt + k) & 0xFF) for i in range(size))


def video_values(size, salt, k):
    return [((i * 13 + salt + k) % 97) / 32.0 - 1.5 for i in range(size)]


def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def ld(field, payload):
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def unpacked_int64_list(values):
    return b"".join(varint(1 << 3 | 0) + varint(v) for v in values)


def unpacked_float_list(values):
    return b"".join(varint(1 << 3 | 5) + struct.pack("<f", v) for v in values)


def canonical_frame(vid, id_key, labels, n, salt):
    ctx = tf.train.Features(feature={
        id_key: tf.train.Feature(bytes_list=tf.train.BytesList(value=[vid.encode()])),
        "labels": tf.train.Feature(int64_list=tf.train.Int64List(value=labels)),
    })
    lists = {}
    for k, (name, size) in enumerate((("rgb", 1024), ("audio", 128))):
        lists[name] = tf.train.FeatureList(feature=[
            tf.train.Feature(bytes_list=tf.train.BytesList(value=[frame_bytes(t, size, salt, k)]))
            for t in range(n)])
    ex = tf.train.SequenceExample(context=ctx, feature_lists=tf.train.FeatureLists(feature_list=lists))
    return ex.SerializeToString(deterministic=True)


def handmade_frame(vid, id_key, labels, n, salt):
    # Unpacked labels, an unknown field inside the labels Int64List, an unknown context key, an unknown
    # Feature field, and an unknown top-level field; feature_lists before context.
    labels_feature = ld(3, unpacked_int64_list(labels) + varint(9 << 3 | 0) + varint(77))
    id_feature = ld(1, ld(1, vid.encode())) + varint(12 << 3 | 0) + varint(5)
    context = (ld(1, ld(1, b"labels") + ld(2, labels_feature)) +
               ld(1, ld(1, b"zz_unknown") + ld(2, ld(2, unpacked_float_list([1.5, 2.5])))) +
               ld(1, ld(1, id_key.encode()) + ld(2, id_feature)))
    lists = b""
    for k, (name, size) in enumerate((("audio", 128), ("rgb", 1024))):
        kk = 1 if name == "audio" else 0
        fl = b"".join(ld(1, ld(1, ld(1, frame_bytes(t, size, salt, kk)))) for t in range(n))
        lists += ld(1, ld(1, name.encode()) + ld(2, fl))
    return ld(2, lists) + varint(20 << 3 | 0) + varint(123456) + ld(1, context) + ld(31, b"trailing unknown")


def canonical_video(vid, labels, salt):
    feats = {
        "id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[vid.encode()])),
        "labels": tf.train.Feature(int64_list=tf.train.Int64List(value=labels)),
        "mean_rgb": tf.train.Feature(float_list=tf.train.FloatList(value=video_values(1024, salt, 0))),
        "mean_audio": tf.train.Feature(float_list=tf.train.FloatList(value=video_values(128, salt, 1))),
    }
    return tf.train.Example(features=tf.train.Features(feature=feats)).SerializeToString(deterministic=True)


def handmade_video(vid, labels, salt):
    entries = [
        (b"mean_audio", ld(2, unpacked_float_list(video_values(128, salt, 1)))),
        (b"labels", ld(3, unpacked_int64_list(labels))),
        (b"extra", ld(1, ld(1, b"ignored"))),
        (b"id", ld(1, ld(1, vid.encode()))),
        (b"mean_rgb", ld(2, unpacked_float_list(video_values(1024, salt, 0)))),
    ]
    feats = b"".join(ld(1, ld(1, key) + ld(2, value)) for key, value in entries)
    return ld(1, feats) + varint(4 << 3 | 1) + struct.pack("<d", 3.25)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/io/fixtures"
    os.makedirs(out, exist_ok=True)
    manifest = []
    frame_specs = [  # id, id_key, labels, frames, salt, canonical
        ("Ab3d", "id", [0, 17, 3861], 3, 1, True),
        ("zz9Q", "id", [], 1, 2, True),
        ("Xy0a", "video_id", [5, 5, 2], 2, 3, True),
        ("hand1", "id", [4, 1000], 2, 4, False),
        ("hand2", "video_id", [3861], 1, 5, False),
    ]
    with tf.io.TFRecordWriter(os.path.join(out, "tf_frame.tfrecord")) as w:
        for i, (vid, key, labels, n, salt, canon) in enumerate(frame_specs):
            w.write(canonical_frame(vid, key, labels, n, salt) if canon else handmade_frame(vid, key, labels, n, salt))
            manifest.append(f"frame tf_frame.tfrecord {i} {vid} {key} {','.join(map(str, labels)) or '-'} {n} {salt} {int(canon)}")
    video_specs = [("Vv01", [1, 2, 3], 6, True), ("Vv02", [], 7, True), ("hand3", [9], 8, False)]
    with tf.io.TFRecordWriter(os.path.join(out, "tf_video.tfrecord")) as w:
        for i, (vid, labels, salt, canon) in enumerate(video_specs):
            w.write(canonical_video(vid, labels, salt) if canon else handmade_video(vid, labels, salt))
            manifest.append(f"video tf_video.tfrecord {i} {vid} {','.join(map(str, labels)) or '-'} {salt} {int(canon)}")
    # TensorFlow must itself read back the hand-made records.
    for fname in ("tf_frame.tfrecord", "tf_video.tfrecord"):
        assert sum(1 for _ in tf.data.TFRecordDataset(os.path.join(out, fname))) > 0
    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write("# written by tools/make_tf_fixtures.py with tensorflow " + tf.__version__ + "\n")
        f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
