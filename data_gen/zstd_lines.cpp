// LineReader (see zstd_lines.h): fread in 256 KiB chunks, ZSTD_decompressStream for .zst.
#include "data_gen/zstd_lines.h"

#include <zstd.h>

#include "core/error.h"

namespace duo::data_gen {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

LineReader::LineReader(const std::filesystem::path& path) : path_(path), in_buf_(1 << 18) {
  file_ = std::fopen(path.string().c_str(), "rb");
  DUO_CHECK(file_ != nullptr, "{}: cannot open the haystack file; expected a readable file, got none", path.string());
  if (ends_with(path.filename().string(), ".zst")) {
    zstd_ = ZSTD_createDStream();
    DUO_CHECK(zstd_ != nullptr, "{}: cannot create a zstd decoder", path.string());
    ZSTD_initDStream(static_cast<ZSTD_DStream*>(zstd_));
  }
}

LineReader::~LineReader() {
  if (zstd_ != nullptr) ZSTD_freeDStream(static_cast<ZSTD_DStream*>(zstd_));
  if (file_ != nullptr) std::fclose(file_);
}

bool LineReader::fill() {
  if (eof_) return false;
  // Drop what was already returned so pending_ does not grow without bound.
  if (pending_pos_ > 0) {
    pending_.erase(0, pending_pos_);
    pending_pos_ = 0;
  }
  if (zstd_ == nullptr) {
    size_t n = std::fread(in_buf_.data(), 1, in_buf_.size(), file_);
    DUO_CHECK(!std::ferror(file_), "{}: read error", path_.string());
    if (n == 0) {
      eof_ = true;
      return false;
    }
    pending_.append(in_buf_.data(), n);
    return true;
  }
  auto* ds = static_cast<ZSTD_DStream*>(zstd_);
  std::vector<char> out(ZSTD_DStreamOutSize());
  size_t produced_before = pending_.size();
  while (pending_.size() == produced_before) {
    if (in_pos_ == in_size_) {
      in_size_ = std::fread(in_buf_.data(), 1, in_buf_.size(), file_);
      in_pos_ = 0;
      DUO_CHECK(!std::ferror(file_), "{}: read error", path_.string());
      if (in_size_ == 0) {
        DUO_CHECK(!frame_open_, "{}: truncated zstd stream; expected a complete frame, got end of file",
                  path_.string());
        eof_ = true;
        return false;
      }
    }
    ZSTD_inBuffer in{in_buf_.data(), in_size_, in_pos_};
    ZSTD_outBuffer ob{out.data(), out.size(), 0};
    size_t ret = ZSTD_decompressStream(ds, &ob, &in);
    DUO_CHECK(!ZSTD_isError(ret), "{}: zstd decompression failed: {}", path_.string(), ZSTD_getErrorName(ret));
    in_pos_ = in.pos;
    frame_open_ = ret != 0;  // 0 means a frame just ended; concatenated frames continue
    pending_.append(out.data(), ob.pos);
  }
  return true;
}

bool LineReader::next(std::string& line) {
  while (true) {
    size_t nl = pending_.find('\n', pending_pos_);
    if (nl != std::string::npos) {
      line.assign(pending_, pending_pos_, nl - pending_pos_);
      pending_pos_ = nl + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      ++line_number_;
      return true;
    }
    if (!fill()) break;
  }
  if (pending_pos_ < pending_.size()) {  // a last line without "\n"
    line.assign(pending_, pending_pos_, std::string::npos);
    pending_pos_ = pending_.size();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    ++line_number_;
    return true;
  }
  return false;
}

}  // namespace duo::data_gen
