// Line-by-line reading of plain or zstd-compressed text files, streaming: a multi-gigabyte
// .jsonl.zst (the BookSum file the paper trained on) is decompressed only as far as it is read.
#pragma once

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace duo::data_gen {

class LineReader {
 public:
  // Opens `path`; decompresses with libzstd when the name ends in ".zst". Throws duo::Error
  // naming the file when it cannot be opened.
  explicit LineReader(const std::filesystem::path& path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Reads the next line without its "\n" (and "\r\n"); false at the end of the file.
  bool next(std::string& line);
  // 1-based number of the line last returned (for error messages).
  int64_t line_number() const { return line_number_; }

 private:
  bool fill();  // appends more decompressed bytes to pending_; false at end of input
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  void* zstd_ = nullptr;  // ZSTD_DStream*, null for plain files
  std::vector<char> in_buf_;
  size_t in_pos_ = 0;
  size_t in_size_ = 0;
  bool frame_open_ = false;  // a zstd frame was started and not finished
  std::string pending_;      // decoded bytes not yet returned
  size_t pending_pos_ = 0;
  bool eof_ = false;
  int64_t line_number_ = 0;
};

}  // namespace duo::data_gen
