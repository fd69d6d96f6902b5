"""Runs y8m inference archives (.y8m) and reads YouTube-8M TFRecords, over liby8m's C API.

    import y8m
    with y8m.Archive("model.y8m", device="cpu") as a:
        for batch in y8m.read_tfrecords("data/frame/test*.tfrecord", archive=a):
            scores = a.predict(batch.frames, batch.num_frames)  # float32 [B, a.num_classes]
            classes, values = y8m.top_k(scores, 5)
"""
from collections import namedtuple

import numpy as np

from ._y8m import Archive, _Reader, dequantize, version

__all__ = ["Archive", "Batch", "dequantize", "read_tfrecords", "top_k", "version"]
__version__ = version()


def _enter(self):
    return self


def _exit(self, *exc):
    self.close()


def _repr(self):
    if self.closed:
        return f"<y8m.Archive {self.path!r} (closed)>"
    return (f"<y8m.Archive {self.path!r} {self.model} on {self.device}: "
            f"{self.num_classes} classes>")


Archive.__repr__ = _repr
Archive.__enter__ = _enter
Archive.__exit__ = _exit
Archive.classes = property(lambda self: list(range(self.num_classes)),
                           doc="class ids: column c of the scores is class c (label index)")

# One batch of records: video ids (list of str), frames (uint8 [B, max_frames, F] frame-level,
# float32 [B, F] video-level), num_frames (int32 [B]) and labels (float32 multi-hot [B, classes]).
Batch = namedtuple("Batch", "video_ids frames num_frames labels")


def read_tfrecords(pattern, archive=None, *, frame_level=True, feature_names=None,
                   feature_sizes=None, max_frames=0, num_classes=0, batch_size=1024):
    """Iterates over the records of the comma-separated glob `pattern`, in file order, as Batch
    tuples. The features, frames and classes come from `archive` when given, else from the
    arguments (defaults: rgb,audio 1024,128 frame-level, mean_rgb,mean_audio video-level; 300
    frames; 3862 classes). Errors (no file matches, a corrupt record) raise with the file named."""
    reader = _Reader(pattern, archive, frame_level, feature_names, feature_sizes, max_frames,
                     num_classes, batch_size)
    return (Batch(*b) for b in reader)


def top_k(scores, k):
    """The k best classes of each row of `scores` ([B, V] or [V]): (indices int64, values), in
    descending order of score, ties to the lower class index (as y8m-infer's CSV). k is capped at
    V."""
    scores = np.asarray(scores)
    if scores.ndim not in (1, 2):
        raise ValueError(f"top_k: scores of shape {scores.shape}, expected [V] or [B, V]")
    if int(k) < 1:
        raise ValueError(f"top_k: k={k}, expected at least 1")
    k = min(int(k), scores.shape[-1])
    indices = np.argsort(-scores, axis=-1, kind="stable")[..., :k]
    return indices, np.take_along_axis(scores, indices, axis=-1)
