#include "apps/common/model_tgz.h"

#include "engine/error.h"
#include "io/atomic_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#ifdef Y8M_HAVE_LIBARCHIVE
#include <archive.h>
#include <archive_entry.h>
#endif

namespace y8m::apps {

namespace fs = std::filesystem;

#ifdef Y8M_HAVE_LIBARCHIVE

namespace {
struct ReadCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteCloser {
  void operator()(archive* a) const { archive_write_free(a); }
};
}  // namespace

bool model_tgz_supported() { return true; }

std::vector<std::string> extract_model_tgz(const std::string& tgz, const std::string& dir) {
  std::unique_ptr<archive, ReadCloser> in(archive_read_new());
  archive_read_support_filter_all(in.get());
  archive_read_support_format_tar(in.get());
  Y8M_CHECK(archive_read_open_filename(in.get(), tgz.c_str(), 1 << 16) == ARCHIVE_OK,
            "--input_model_tgz: cannot read {}: {}", tgz, archive_error_string(in.get()));
  fs::create_directories(dir);
  std::vector<std::string> names;
  archive_entry* e = nullptr;
  for (int r; (r = archive_read_next_header(in.get(), &e)) != ARCHIVE_EOF;) {
    Y8M_CHECK(r == ARCHIVE_OK || r == ARCHIVE_WARN, "--input_model_tgz: {}: {}", tgz,
              archive_error_string(in.get()));
    const std::string name = archive_entry_pathname(e);
    if (archive_entry_filetype(e) != AE_IFREG) continue;  // folders are made for the files
    const fs::path rel(name);
    bool dotdot = false;
    for (const auto& part : rel) dotdot = dotdot || part == "..";
    Y8M_CHECK(!rel.is_absolute() && !dotdot,
              "--input_model_tgz: {}: refusing the entry '{}' (outside --untar_model_dir)", tgz,
              name);
    const fs::path dest = fs::path(dir) / rel;
    fs::create_directories(dest.parent_path());
    const std::string tmp = io::temp_path_for(dest.string());
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      Y8M_CHECK(out.good(), "--untar_model_dir: cannot write {}: {}", tmp, std::strerror(errno));
      char buf[1 << 16];
      for (la_ssize_t n; (n = archive_read_data(in.get(), buf, sizeof buf)) != 0;) {
        Y8M_CHECK(n > 0, "--input_model_tgz: {}: {}: {}", tgz, name,
                  archive_error_string(in.get()));
        out.write(buf, n);
      }
      out.close();
      Y8M_CHECK(out.good(), "--untar_model_dir: cannot write {}", tmp);
    }
    fs::rename(tmp, dest);
    names.push_back(name);
  }
  return names;
}

void write_model_tgz(const std::string& tgz,
                     const std::vector<std::pair<std::string, std::string>>& files) {
  const fs::path parent = fs::path(tgz).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  const std::string tmp = io::temp_path_for(tgz);
  try {
    std::unique_ptr<archive, WriteCloser> out(archive_write_new());
    archive_write_add_filter_gzip(out.get());
    archive_write_set_format_pax_restricted(out.get());
    Y8M_CHECK(archive_write_open_filename(out.get(), tmp.c_str()) == ARCHIVE_OK,
              "--output_model_tgz: cannot write {}: {}", tmp, archive_error_string(out.get()));
    for (const auto& [path, name] : files) {
      std::ifstream in(path, std::ios::binary);
      Y8M_CHECK(in.good(), "--output_model_tgz: cannot read {}", path);
      std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(),
                                                                 archive_entry_free);
      archive_entry_set_pathname(e.get(), name.c_str());
      archive_entry_set_size(e.get(), static_cast<la_int64_t>(fs::file_size(path)));
      archive_entry_set_filetype(e.get(), AE_IFREG);
      archive_entry_set_perm(e.get(), 0644);
      Y8M_CHECK(archive_write_header(out.get(), e.get()) == ARCHIVE_OK,
                "--output_model_tgz: {}: {}", tgz, archive_error_string(out.get()));
      char buf[1 << 16];
      while (in) {
        in.read(buf, sizeof buf);
        const std::streamsize n = in.gcount();
        Y8M_CHECK(n == 0 || archive_write_data(out.get(), buf, static_cast<size_t>(n)) == n,
                  "--output_model_tgz: {}: {}", tgz, archive_error_string(out.get()));
      }
    }
    Y8M_CHECK(archive_write_close(out.get()) == ARCHIVE_OK, "--output_model_tgz: {}: {}", tgz,
              archive_error_string(out.get()));
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  fs::rename(tmp, tgz);
  io::sync_dir(parent.empty() ? "." : parent.string());
}

#else  // built without libarchive

namespace {
[[noreturn]] void unsupported(const char* flag) {
  Y8M_FAIL(
      "{}: this y8m was built without libarchive (install libarchive-dev, e.g. with "
      "scripts/install-deps.sh, and rebuild)",
      flag);
}
}  // namespace

bool model_tgz_supported() { return false; }

std::vector<std::string> extract_model_tgz(const std::string&, const std::string&) {
  unsupported("--input_model_tgz");
}

void write_model_tgz(const std::string&, const std::vector<std::pair<std::string, std::string>>&) {
  unsupported("--output_model_tgz");
}

#endif

}  // namespace y8m::apps
