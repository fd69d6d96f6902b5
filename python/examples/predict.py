# Prints the 3 best classes of every video in the TFRecords matching sys.argv[2] with their scores,
# as the rows of y8m-infer --top_k=3 (one batch of up to 1024 videos per predict, seed 0).
import sys

import y8m

with y8m.Archive(sys.argv[1], device="cpu") as a:
    for batch in y8m.read_tfrecords(sys.argv[2], archive=a):
        scores = a.predict(batch.frames, batch.num_frames)  # float32 [videos, a.num_classes]
        classes, values = y8m.top_k(scores, 3)
        for video, cs, vs in zip(batch.video_ids, classes, values):
            print(video + "," + " ".join(f"{c} {v:g}" for c, v in zip(cs, vs)))
