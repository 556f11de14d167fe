// A crash guard for HDF5 inputs. The HDF5 library (Debian's 1.10) trusts the sizes and offsets in
// a file's metadata: a damaged or hostile file can make it segfault or ask for a terabyte inside
// H5Fopen, H5Aopen or H5Dread, where no error check of ours can intervene (scripts/fuzz.sh found
// both within seconds). So before duo reads an HDF5 file, a forked child reads all of it: every
// group, dataset and attribute, with the raw C API. If the child dies, the file is refused with one
// line, and so is one the child cannot finish within 2 s of CPU time plus 1 s per 20 MB (30 s plus
// 1 s per 20 MB of wall-clock time; the library can loop forever on a damaged file) or within an address-space cap of four times the file's size plus
// 1 GiB; if it finishes (or meets an ordinary HDF5 error), the caller's own read goes ahead and
// reports any error in its usual words. The child shares nothing writable with the parent and
// leaves with _exit, so the parent's state is untouched.
#pragma once

#include <filesystem>

namespace duo::io {

// Throws duo::Error "<file>: the HDF5 library crashed (signal 11, Segmentation fault) reading this
// file; expected an intact HDF5 file (is it damaged or truncated?)", "... did not finish reading
// this file within 2 s of CPU time ..." or "... needs more memory than the file's size can justify ...".
void probe_hdf5_file(const std::filesystem::path& path);

}  // namespace duo::io
