"""The y8m package against the apps: predictions equal y8m-infer's, uint8 and float32 frames
agree, errors raise with the C API's message, read_tfrecords agrees with y8m-inspect."""
import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import y8m

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_version():
    assert y8m.version() == y8m.__version__
    assert [int(p) for p in y8m.version().split(".")] >= [1, 0, 0]


def test_archive_describes_itself(archive_path):
    with y8m.Archive(archive_path, device="cpu") as a:
        assert a.path == archive_path
        assert a.device == "cpu"
        assert a.model == "NetVLADModelLF"
        assert a.num_classes == 50
        assert a.classes == list(range(50))
        assert a.outputs == ["predictions"]
        assert a.features == [("rgb", 1024), ("audio", 128)]
        assert a.inputs == {"frame_level": True, "max_frames": 300, "feature_size": 1152,
                            "features": [("rgb", 1024), ("audio", 128)]}
        assert a.metadata("step") == "4"
        assert a.metadata("no such key") is None
        assert not a.closed
        assert repr(a) == f"<y8m.Archive {archive_path!r} NetVLADModelLF on cpu: 50 classes>"
    assert a.closed
    assert repr(a) == f"<y8m.Archive {archive_path!r} (closed)>"


def _batches(work, archive, split="test"):
    return list(y8m.read_tfrecords(str(work / "data" / "frame" / f"{split}*.tfrecord"),
                                   archive=archive))


def _read_csv(path):
    rows = {}
    with open(path) as f:
        assert f.readline().strip() == "VideoId,LabelConfidencePairs"
        for line in f:
            video, pairs = line.strip().split(",")
            p = pairs.split()
            rows[video] = {int(c): float(s) for c, s in zip(p[::2], p[1::2])}
    return rows


@pytest.mark.parametrize("seed", [0, 7])
def test_predict_equals_y8m_infer(work, archive_path, run_app, seed):
    run_app("y8m-infer", "--train_dir=run", "--input_data_pattern=data/frame/test*.tfrecord",
            f"--output_file=infer{seed}.csv", "--top_k=50", f"--seed={seed}", "--device=cpu",
            cwd=work)
    want = _read_csv(work / f"infer{seed}.csv")
    a = y8m.Archive(archive_path, device="cpu")
    (batch,) = _batches(work, a)  # 50 videos: one batch, as y8m-infer read them
    scores = a.predict(batch.frames, batch.num_frames, seed=seed)
    assert scores.dtype == np.float32 and scores.shape == (50, 50)
    assert list(want) == batch.video_ids
    for row, video in zip(scores, batch.video_ids):
        assert sorted(want[video]) == list(range(50))
        np.testing.assert_allclose(row, [want[video][c] for c in range(50)], rtol=1e-5, atol=1e-6)


def test_example_prints_y8m_infer_rows(work, archive_path, run_app):
    """python/examples/predict.py (the README's Python example) prints y8m-infer --top_k=3's rows."""
    with open(os.path.join(REPO, "python", "examples", "predict.py")) as f:
        example = f.read()
    with open(os.path.join(REPO, "README.md")) as f:
        readme = f.read()
    section = readme[readme.index("## Using a y8m archive from your program"):]
    block = section[section.index("```python\n") + 10:]
    assert block[:block.index("```")] == example, "README.md's Python example != python/examples/predict.py"
    run_app("y8m-infer", "--train_dir=run", "--input_data_pattern=data/frame/test*.tfrecord",
            "--output_file=top3.csv", "--top_k=3", "--device=cpu", cwd=work)
    out = subprocess.run([sys.executable, os.path.join(REPO, "python", "examples", "predict.py"),
                          archive_path, "data/frame/test*.tfrecord"], cwd=work, check=True,
                         capture_output=True, text=True).stdout
    with open(work / "top3.csv") as f:
        assert out == "".join(f.readlines()[1:])


def test_uint8_and_float32_frames_agree(work, archive_path):
    a = y8m.Archive(archive_path, device="cpu")
    (batch,) = _batches(work, a, "validate")[:1]
    q, n = batch.frames[:8], batch.num_frames[:8]
    x = y8m.dequantize(q)
    assert x.dtype == np.float32 and x.shape == q.shape
    np.testing.assert_array_equal(
        x, q.astype(np.float32) * np.float32(4 / 255) + np.float32(4 / 512 - 2))
    s_u8 = a.predict(q, n, seed=3)
    np.testing.assert_allclose(a.predict(x, n, seed=3), s_u8, rtol=0, atol=1e-5)
    # Shorter frame axes are padded; frames at or after num_frames are ignored.
    t = int(n.max())
    np.testing.assert_array_equal(a.predict(q[:, :t], n, seed=3), s_u8)
    q2 = q.copy()
    for i, k in enumerate(n):
        q2[i, k:] = 255
    np.testing.assert_array_equal(a.predict(q2, n, seed=3), s_u8)
    # Non-contiguous input is copied, not misread.
    np.testing.assert_array_equal(a.predict(np.asfortranarray(q), n, seed=3), s_u8)


def test_wrong_inputs_raise_with_the_message(work, archive_path):
    a = y8m.Archive(archive_path, device="cpu")
    q = np.zeros((2, 300, 1152), np.uint8)
    n = np.array([3, 4], np.int32)
    with pytest.raises(TypeError, match="frames: dtype float64, expected float32 or uint8"):
        a.predict(q.astype(np.float64), n)
    with pytest.raises(ValueError, match=r"frames: shape \(300, 1152\), expected \(batch, frames, "
                                         r"1152\)"):
        a.predict(q[0], n)
    with pytest.raises(ValueError, match="feature_size: 1000, the archive expects 1152"):
        a.predict(q[:, :, :1000], n)
    with pytest.raises(ValueError, match=r"num_frames: shape \(3,\), expected \(2,\)"):
        a.predict(q, np.array([1, 2, 3]))
    with pytest.raises(ValueError, match=r"num_frames\[1\]: 301, expected 0 to 300"):
        a.predict(q, np.array([1, 301]))
    with pytest.raises(TypeError, match="num_frames: expected an integer array"):
        a.predict(q, np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="frames_per_video: 301, expected 1 to 300"):
        a.predict(np.zeros((1, 301, 1152), np.uint8), np.array([1]))


def test_closed_archive_and_bad_paths(work, archive_path):
    a = y8m.Archive(archive_path, device="cpu")
    a.close()
    a.close()  # twice is fine
    with pytest.raises(ValueError, match=f"y8m.Archive: {archive_path} is closed"):
        a.predict(np.zeros((1, 300, 1152), np.uint8), np.array([1]))
    with pytest.raises(ValueError, match="is closed"):
        a.num_classes
    missing = str(work / "missing.y8m")
    with pytest.raises(RuntimeError, match=missing):
        y8m.Archive(missing)
    with pytest.raises(RuntimeError, match="tpu"):
        y8m.Archive(archive_path, device="tpu")
    with pytest.raises(RuntimeError, match="nothing\\*.tfrecord"):
        y8m.read_tfrecords(str(work / "nothing*.tfrecord"))


def test_threads_predict_as_one_thread(work, archive_path):
    a = y8m.Archive(archive_path, device="cpu")
    (batch,) = _batches(work, a)
    chunks = [(batch.frames[i:i + 5], batch.num_frames[i:i + 5]) for i in range(0, 50, 5)]
    want = [a.predict(f, n, seed=i) for i, (f, n) in enumerate(chunks)]
    got = [None] * len(chunks)

    def work_on(k):
        for i in range(k, len(chunks), 4):
            got[i] = a.predict(*chunks[i], seed=i)

    threads = [threading.Thread(target=work_on, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_top_k():
    s = np.array([[0.1, 0.5, 0.5, 0.2], [0.9, 0.0, 0.3, 0.3]], np.float32)
    idx, val = y8m.top_k(s, 3)
    np.testing.assert_array_equal(idx, [[1, 2, 3], [0, 2, 3]])  # ties: lower class first
    np.testing.assert_array_equal(val, np.array([[0.5, 0.5, 0.2], [0.9, 0.3, 0.3]], np.float32))
    idx, val = y8m.top_k(s[1], 10)  # one row; k capped at the classes
    np.testing.assert_array_equal(idx, [0, 2, 3, 1])
    with pytest.raises(ValueError, match="k=0"):
        y8m.top_k(s, 0)


def _inspect(run_app, work, pattern):
    return json.loads(run_app("y8m-inspect", "--json", pattern, cwd=work))


def test_read_tfrecords_frame_level_matches_y8m_inspect(work, run_app):
    info = _inspect(run_app, work, "data/frame/train*.tfrecord")
    batches = list(y8m.read_tfrecords(str(work / "data/frame/train*.tfrecord"), batch_size=128,
                                      num_classes=50))
    assert [len(b.video_ids) for b in batches] == [128, 128, 44]
    assert sum(len(b.video_ids) for b in batches) == info["total_records"]
    b = batches[0]
    ex = info["example"]
    assert b.video_ids[0] == ex["context"]["id"]["first"]
    assert b.frames.dtype == np.uint8 and b.frames.shape == (128, 300, 1152)
    assert b.num_frames.dtype == np.int32
    assert b.num_frames[0] == ex["feature_lists"]["rgb"]["frames"]
    assert not b.frames[0, b.num_frames[0]:].any()  # zero-padded
    assert b.labels.dtype == np.float32 and b.labels.shape == (128, 50)
    assert sorted(np.flatnonzero(b.labels[0])) == sorted(set(ex["context"]["labels"]["values"]))


def test_read_tfrecords_video_level_matches_y8m_inspect(work, run_app):
    info = _inspect(run_app, work, "data/video/validate*.tfrecord")
    (b,) = list(y8m.read_tfrecords(str(work / "data/video/validate*.tfrecord"), frame_level=False,
                                   num_classes=50))
    assert len(b.video_ids) == info["total_records"]
    ex = info["example"]["context"]
    assert b.video_ids[0] == ex["id"]["first"]
    assert b.frames.dtype == np.float32 and b.frames.shape == (len(b.video_ids), 1152)
    np.testing.assert_array_equal(b.frames[0, :5], np.float32(ex["mean_rgb"]["first"]))
    np.testing.assert_array_equal(b.frames[0, 1024:1029], np.float32(ex["mean_audio"]["first"]))
