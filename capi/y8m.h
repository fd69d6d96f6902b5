/* y8m C API (liby8m.so): runs y8m inference archives (.y8m, written by y8m-eval --build_only,
 * y8m-ensemble, y8m-quantize, ...) from any program, and reads YouTube-8M TFRecords into arrays.
 *
 * Conventions:
 *   - Every function that can fail returns a y8m_status (Y8M_OK = 0). On failure,
 *     y8m_last_error() gives a one-line message naming the file, argument or record; it belongs to
 *     the calling thread and stays valid until that thread's next y8m_* call.
 *   - Handles are opaque. Strings and arrays returned by a handle stay valid until it is closed
 *     (reader batches: until the next y8m_reader_next on that reader).
 *   - y8m_predict may run concurrently from several threads on one archive handle (on CUDA
 *     devices the runs themselves take turns); opening and closing must not overlap other calls
 *     on the same handle. A reader is used by one thread at a
 *     time.
 *
 *   y8m_archive* a;
 *   if (y8m_archive_open("model.y8m", "cpu", &a) != Y8M_OK) puts(y8m_last_error());
 *   y8m_predict(a, Y8M_UINT8, frames, batch, max_frames, feature_size, num_frames, 0, scores,
 *               batch * num_classes);
 *   y8m_archive_close(a);
 */
#ifndef Y8M_CAPI_Y8M_H_
#define Y8M_CAPI_Y8M_H_

#include <stddef.h>
#include <stdint.h>

#if defined(Y8M_CAPI_BUILD)
#define Y8M_API __attribute__((visibility("default")))
#else
#define Y8M_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this API: y8m_version() returns "MAJOR.MINOR.PATCH"; the library's SOVERSION is
 * the major version. */
#define Y8M_VERSION_MAJOR 1
#define Y8M_VERSION_MINOR 0
#define Y8M_VERSION_PATCH 0

typedef enum y8m_status {
  Y8M_OK = 0,
  Y8M_ERROR_ARGUMENT = 1, /* a NULL handle or pointer, a shape, size or dtype that does not fit */
  Y8M_ERROR_RUNTIME = 2,  /* an unreadable or invalid archive or record, a device problem */
  Y8M_ERROR_MEMORY = 3    /* out of host or device memory */
} y8m_status;

typedef enum y8m_dtype {
  Y8M_FLOAT32 = 0, /* dequantized frames (not L2-normalized), or video-level features */
  Y8M_UINT8 = 1    /* quantized frames as stored in frame-level TFRecords */
} y8m_dtype;

typedef struct y8m_archive y8m_archive;
typedef struct y8m_reader y8m_reader;

Y8M_API const char* y8m_version(void);
/* The message of this thread's last failed call ("" when the last call succeeded). */
Y8M_API const char* y8m_last_error(void);

/* Opens (memory-maps), CRC-checks and validates an archive and prepares it on `device`: "cpu",
 * "cuda", "cuda:N", or NULL for the default (cuda:0 when present, else the CPU). */
Y8M_API y8m_status y8m_archive_open(const char* path, const char* device, y8m_archive** out);
/* Frees the handle; NULL is ignored. */
Y8M_API void y8m_archive_close(y8m_archive* archive);

/* What the archive expects. frame_level: 1 when it reads frames [B, max_frames, feature_size]
 * (uint8 or float32) plus num_frames [B], 0 when it reads video-level features [B, feature_size]
 * (float32; max_frames is then 0). Feature streams (e.g. "rgb" 1024, "audio" 128) in the order
 * their columns are concatenated; feature_size is the sum of their sizes. */
Y8M_API y8m_status y8m_archive_frame_level(const y8m_archive* archive, int* out);
Y8M_API y8m_status y8m_archive_max_frames(const y8m_archive* archive, int64_t* out);
Y8M_API y8m_status y8m_archive_feature_size(const y8m_archive* archive, int64_t* out);
Y8M_API y8m_status y8m_archive_num_features(const y8m_archive* archive, size_t* out);
Y8M_API y8m_status y8m_archive_feature(const y8m_archive* archive, size_t index, const char** name,
                                       int64_t* size);
/* Classes: scores column c is class id c (the label index of the records), 0 <= c < num_classes.
 * Archives carry no class names. */
Y8M_API y8m_status y8m_archive_num_classes(const y8m_archive* archive, int64_t* out);
/* The graph's outputs ("predictions") and the model (e.g. "NetVLADModelLF"), the device it runs
 * on ("cpu", "cuda:0"), and archive metadata by key (*value = NULL when the key is absent). */
Y8M_API y8m_status y8m_archive_num_outputs(const y8m_archive* archive, size_t* out);
Y8M_API y8m_status y8m_archive_output_name(const y8m_archive* archive, size_t index,
                                           const char** name);
Y8M_API y8m_status y8m_archive_model(const y8m_archive* archive, const char** name);
Y8M_API y8m_status y8m_archive_device(const y8m_archive* archive, const char** name);
Y8M_API y8m_status y8m_archive_metadata(const y8m_archive* archive, const char* key,
                                        const char** value);

/* Runs a batch and writes scores [batch, num_classes] (row-major float32) into `scores`, which
 * holds `scores_len` floats (at least batch * num_classes, else Y8M_ERROR_ARGUMENT).
 * Frame-level archives: `frames` is [batch, frames_per_video, feature_size] with
 * 1 <= frames_per_video <= max_frames (shorter inputs are padded), num_frames[b] in
 * [0, frames_per_video]; uint8 frames are dequantized as the TFRecord reader does, float32 frames
 * are taken as dequantized; frames at or after num_frames[b] are ignored.
 * Video-level archives: float32 `frames` [batch, feature_size], frames_per_video = 0, num_frames
 * may be NULL. Archives whose model samples frames draw from a generator seeded from `seed` as
 * y8m-infer --seed=seed does, so one batch gives y8m-infer's scores. Thread-safe. */
Y8M_API y8m_status y8m_predict(y8m_archive* archive, y8m_dtype dtype, const void* frames,
                               int64_t batch, int64_t frames_per_video, int64_t feature_size,
                               const int32_t* num_frames, uint64_t seed, float* scores,
                               size_t scores_len);

/* Dequantizes n uint8 values exactly as the TFRecord reader does: q * (4/255) + (4/512 - 2), each
 * step rounded to float32. */
Y8M_API y8m_status y8m_dequantize(const uint8_t* q, size_t n, float* out);

/* Reading YouTube-8M TFRecords: `pattern` is a comma-separated list of globs, read once in file
 * order. frame_level: 1 for SequenceExample frames (uint8), 0 for video-level Examples (float32).
 * feature_names / feature_sizes: comma-separated ("rgb,audio" / "1024,128"; NULL = that default,
 * "mean_rgb,mean_audio" for video level). max_frames <= 0: 300; num_classes <= 0: 3862;
 * batch_size <= 0: 1024. y8m_reader_open_for takes the features, frames and classes from an
 * archive. */
Y8M_API y8m_status y8m_reader_open(const char* pattern, int frame_level, const char* feature_names,
                                   const char* feature_sizes, int max_frames, int num_classes,
                                   int batch_size, y8m_reader** out);
Y8M_API y8m_status y8m_reader_open_for(const char* pattern, const y8m_archive* archive,
                                       int batch_size, y8m_reader** out);
Y8M_API void y8m_reader_close(y8m_reader* reader);

/* One batch; every pointer stays valid until the next y8m_reader_next or y8m_reader_close on the
 * reader. size == 0: the data is exhausted. */
typedef struct y8m_batch {
  int64_t size;                 /* videos B */
  const char* const* video_ids; /* B NUL-terminated ids */
  y8m_dtype dtype;              /* Y8M_UINT8 frames or Y8M_FLOAT32 video-level features */
  const void* frames;           /* [B, max_frames, feature_size] or [B, feature_size] */
  int64_t max_frames;           /* T (0 for video level) */
  int64_t feature_size;         /* F */
  const int32_t* num_frames;    /* [B] frames present, <= max_frames (1 for video level) */
  const float* labels;          /* [B, num_classes] multi-hot (all 0 for records without labels) */
  int64_t num_classes;
} y8m_batch;
Y8M_API y8m_status y8m_reader_next(y8m_reader* reader, y8m_batch* out);

#ifdef __cplusplus
}
#endif

#endif /* Y8M_CAPI_Y8M_H_ */
