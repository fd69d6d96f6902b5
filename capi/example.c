/* Prints the best class of every video in the TFRecords matching argv[2] with its score, as the
 * rows of y8m-infer --top_k=1 (one batch of up to 1024 videos per y8m_predict, seed 0). */
#include <stdio.h>
#include <stdlib.h>
#include <y8m.h>

static int fail(const char* message) {
  fprintf(stderr, "%s\n", message);
  return 1;
}

int main(int argc, char** argv) {
  y8m_archive* a = NULL;
  y8m_reader* r = NULL;
  y8m_batch b;
  int64_t v = 0;
  if (argc != 3 || y8m_archive_open(argv[1], "cpu", &a) != Y8M_OK ||
      y8m_archive_num_classes(a, &v) != Y8M_OK || y8m_reader_open_for(argv[2], a, 0, &r) != Y8M_OK)
    return fail(argc != 3 ? "usage: example MODEL PATTERN" : y8m_last_error());
  while (y8m_reader_next(r, &b) == Y8M_OK && b.size > 0) {
    float* s = malloc(sizeof(float) * b.size * v);
    if (y8m_predict(a, b.dtype, b.frames, b.size, b.max_frames, b.feature_size, b.num_frames, 0, s,
                    b.size * v) != Y8M_OK)
      return fail(y8m_last_error());
    for (int64_t i = 0; i < b.size; ++i) {
      int64_t best = 0;
      for (int64_t c = 1; c < v; ++c)
        if (s[i * v + c] > s[i * v + best]) best = c;
      printf("%s,%lld %g\n", b.video_ids[i], (long long)best, s[i * v + best]);
    }
    free(s);
  }
  if (*y8m_last_error()) return fail(y8m_last_error());
  y8m_reader_close(r);
  y8m_archive_close(a);
  return 0;
}
