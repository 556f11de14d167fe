// HDF5 writer and reader (see hdf5.h) over the HDF5 C++ API.
#include "io/hdf5.h"

#include <ATen/ATen.h>
#include <H5Cpp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/hdf5_probe.h"

namespace duo::io {
namespace fs = std::filesystem;
namespace {

// A dataset's elements must fit what its file can hold: n x stored bytes at most 1024 x the file's
// size (room for compression) plus 64 MiB. A damaged extent (2^55 elements in a 10 KB file; the
// fuzzer found one) is refused before anything is allocated for it.
void check_extent(const fs::path& file, const std::string& name, uint64_t n, size_t stored_size) {
  std::error_code ec;
  const uint64_t bytes = fs::file_size(file, ec);
  const uint64_t most = (ec ? 0 : bytes) * 1024 + (uint64_t{64} << 20);
  DUO_CHECK(stored_size > 0 && n <= most / stored_size,
            "{}: dataset '{}' claims {} elements of {} bytes; expected at most {} bytes of data in a file of {} bytes "
            "(is the file damaged?)",
            file.string(), name, n, stored_size, most, ec ? 0 : bytes);
}

// Element kinds the writer stores (its `kind` argument).
enum Kind : int { kF32, kF64, kI8, kI16, kI32, kI64, kU8, kBool };

void silence_hdf5() {
  static const bool once = [] {
    H5::Exception::dontPrint();
    return true;
  }();
  (void)once;
}

std::string describe(const H5::Exception& e) {
  std::string detail = e.getDetailMsg();
  std::string func = e.getFuncName();
  return func.empty() ? detail : fmt::format("{} ({})", detail, func);
}

// Runs fn, turning HDF5 exceptions into duo::Error naming the file and the object.
template <class F>
auto guarded(const fs::path& file, const std::string& what, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const H5::Exception& e) {
    fail("{}: {}: HDF5 error: {}", file.string(), what, describe(e));
  }
}

// h5py stores numpy bools as this enum.
H5::EnumType bool_type() {
  H5::EnumType t(H5::PredType::NATIVE_INT8);
  int8_t v = 0;
  t.insert("FALSE", &v);
  v = 1;
  t.insert("TRUE", &v);
  return t;
}

H5::DataType mem_type(int kind) {
  switch (kind) {
    case kF32: return H5::PredType::NATIVE_FLOAT;
    case kF64: return H5::PredType::NATIVE_DOUBLE;
    case kI8: return H5::PredType::NATIVE_INT8;
    case kI16: return H5::PredType::NATIVE_INT16;
    case kI32: return H5::PredType::NATIVE_INT32;
    case kI64: return H5::PredType::NATIVE_INT64;
    case kU8: return H5::PredType::NATIVE_UINT8;
    case kBool: return bool_type();
  }
  fail("hdf5: unknown element kind {}", kind);
}

size_t kind_size(int kind) {
  switch (kind) {
    case kF64: case kI64: return 8;
    case kF32: case kI32: return 4;
    case kI16: return 2;
    default: return 1;
  }
}

H5::StrType utf8_vlen_type() {
  H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
  t.setCset(H5T_CSET_UTF8);
  return t;
}

std::vector<std::string> split_path(const std::string& name) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    if (slash == std::string::npos) slash = name.size();
    if (slash > start) parts.push_back(name.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

// Objects carry no modification times, so the same content gives byte-identical files.
H5::DSetCreatPropList untimed_dataset_props() {
  H5::DSetCreatPropList props;
  H5Pset_obj_track_times(props.getId(), false);
  return props;
}

// Creates the groups above a dataset path ("a/b/c" -> /a, /a/b) that do not exist yet.
void create_parent_groups(H5::H5File& file, const std::vector<std::string>& parts) {
  std::string prefix;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    prefix += "/" + parts[i];
    if (H5Lexists(file.getId(), prefix.c_str(), H5P_DEFAULT) > 0) continue;
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_obj_track_times(gcpl, false);
    hid_t g = H5Gcreate2(file.getId(), prefix.c_str(), H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    if (g < 0) throw H5::GroupIException("create_parent_groups", "cannot create group " + prefix);
    H5Gclose(g);
  }
}

bool link_exists(const H5::H5File& file, const std::string& name) {
  std::string prefix;
  for (const auto& part : split_path(name)) {
    prefix += "/" + part;
    if (H5Lexists(file.getId(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return true;
}

bool is_root(const std::string& object) { return object.empty() || object == "/"; }

// The group or dataset at `object`, for attributes (H5Object itself cannot be held: its
// destructor is protected).
class AnyObject {
 public:
  explicit AnyObject(H5::Group g) : group_(std::move(g)) {}
  explicit AnyObject(H5::DataSet d) : dataset_(std::move(d)) {}
  H5::H5Object* operator->() {
    return group_ ? static_cast<H5::H5Object*>(&*group_) : static_cast<H5::H5Object*>(&*dataset_);
  }

 private:
  std::optional<H5::Group> group_;
  std::optional<H5::DataSet> dataset_;
};

AnyObject open_object(const H5::H5File& file, const fs::path& path, const std::string& object) {
  if (is_root(object)) return AnyObject(file.openGroup("/"));
  DUO_CHECK(link_exists(file, object), "{}: object '{}' not found", path.string(), object);
  H5O_type_t type = file.childObjType(object);
  if (type == H5O_TYPE_GROUP) return AnyObject(file.openGroup(object));
  if (type == H5O_TYPE_DATASET) return AnyObject(file.openDataSet(object));
  fail("{}: object '{}' is neither a group nor a dataset", path.string(), object);
}

std::vector<hsize_t> to_dims(const std::vector<int64_t>& shape) { return {shape.begin(), shape.end()}; }

std::string type_desc(const H5::DataType& t) {
  const H5T_class_t c = t.getClass();
  const size_t bits = t.getSize() * 8;
  if (c == H5T_FLOAT) return fmt::format("float{}", bits);
  if (c == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(t.getId()) == H5T_SGN_2;
    return fmt::format("{}int{}", is_signed ? "" : "u", bits);
  }
  if (c == H5T_STRING) return "strings";
  if (c == H5T_ENUM) return "an enum";
  return fmt::format("HDF5 type class {}", static_cast<int>(c));
}

bool is_h5py_bool(const H5::DataType& t) {
  if (t.getClass() != H5T_ENUM || t.getSize() != 1 || H5Tget_nmembers(t.getId()) != 2) return false;
  auto member = [&](unsigned i) {
    char* p = H5Tget_member_name(t.getId(), i);
    std::string s = p == nullptr ? "" : p;
    H5free_memory(p);
    return s;
  };
  return member(0) == "FALSE" && member(1) == "TRUE";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// H5Writer

// The file is built in memory (HDF5's core driver, no backing store) and written out by
// commit() as one image through core::AtomicFile. Disk errors then surface in our own write,
// never inside HDF5: HDF5 1.10 leaves a file whose close failed (a full disk) half-freed under a
// live id, which crashes when closed again (by a destructor or at exit).
struct H5Writer::Impl {
  fs::path path;
  core::AtomicFile temp;
  hid_t file = H5I_INVALID_HID;
  explicit Impl(const fs::path& p) : path(p), temp(p) {}
  ~Impl() { close(); }

  bool open() const { return file != H5I_INVALID_HID; }
  // The open file for the C++ API: one more reference to the same id, given back when the view
  // is destroyed (the file stays open until close()).
  H5::H5File view() const { return H5::H5File(file); }
  void close() {
    if (open()) H5Fclose(file);  // in memory: nothing to flush to disk
    file = H5I_INVALID_HID;
  }
};

H5Writer::H5Writer(const fs::path& path) : impl_(std::make_unique<Impl>(path)) {
  silence_hdf5();
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_core(fapl, /*increment=*/size_t{1} << 20, /*backing_store=*/false);
  impl_->file = H5Fcreate(impl_->temp.temp_path().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  DUO_CHECK(impl_->open(), "{}: cannot create an HDF5 file in memory", path.string());
}

H5Writer::~H5Writer() = default;  // Impl closes the file, then removes the temporary file

const fs::path& H5Writer::path() const { return impl_->path; }

void H5Writer::write_raw(const std::string& name, const void* data, int kind, const std::vector<int64_t>& shape,
                         int gzip) {
  const fs::path& path = impl_->path;
  DUO_CHECK(impl_->open(), "{}: dataset '{}': the writer was already committed", path.string(), name);
  DUO_CHECK(!split_path(name).empty(), "{}: empty dataset name", path.string());
  DUO_CHECK(gzip >= 0 && gzip <= 9, "{}: dataset '{}': gzip level must be 0..9; got {}", path.string(), name, gzip);
  H5::H5File file = impl_->view();
  DUO_CHECK(!link_exists(file, name), "{}: dataset '{}' already exists", path.string(), name);
  guarded(path, fmt::format("dataset '{}'", name), [&] {
    // Create the parent groups.
    const auto parts = split_path(name);
    create_parent_groups(file, parts);
    const std::vector<hsize_t> dims = to_dims(shape);
    H5::DataSpace space = dims.empty() ? H5::DataSpace(H5S_SCALAR)
                                       : H5::DataSpace(static_cast<int>(dims.size()), dims.data());
    H5::DSetCreatPropList props = untimed_dataset_props();
    if (gzip > 0 && !dims.empty()) {
      // Chunks of at most ~1 MiB: halve the leading dimensions until they fit.
      std::vector<hsize_t> chunk(dims.size());
      for (size_t i = 0; i < dims.size(); ++i) chunk[i] = std::max<hsize_t>(1, dims[i]);
      auto bytes = [&] {
        hsize_t n = kind_size(kind);
        for (hsize_t c : chunk) n *= c;
        return n;
      };
      for (size_t i = 0; i < chunk.size() && bytes() > (1u << 20); ++i) {
        while (chunk[i] > 1 && bytes() > (1u << 20)) chunk[i] = (chunk[i] + 1) / 2;
      }
      props.setChunk(static_cast<int>(chunk.size()), chunk.data());
      props.setDeflate(gzip);
    }
    H5::DataType type = mem_type(kind);
    H5::DataSet ds = file.createDataSet(name, type, space, props);
    if (space.getSimpleExtentNpoints() > 0) ds.write(data, type);
  });
}

void H5Writer::write(const std::string& name, const at::Tensor& t, int gzip) {
  DUO_CHECK(t.defined(), "{}: dataset '{}': tensor is undefined", impl_->path.string(), name);
  at::Tensor c = t.detach().cpu();
  int kind;
  switch (c.scalar_type()) {
    case at::kFloat: kind = kF32; break;
    case at::kDouble: kind = kF64; break;
    case at::kHalf: case at::kBFloat16: c = c.to(at::kFloat); kind = kF32; break;
    case at::kChar: kind = kI8; break;
    case at::kShort: kind = kI16; break;
    case at::kInt: kind = kI32; break;
    case at::kLong: kind = kI64; break;
    case at::kByte: kind = kU8; break;
    case at::kBool: kind = kBool; break;
    default:
      fail("{}: dataset '{}': unsupported dtype {}; expected a float, integer or bool tensor", impl_->path.string(),
           name, c10::toString(c.scalar_type()));
  }
  c = c.contiguous();
  write_raw(name, c.data_ptr(), kind, c.sizes().vec(), gzip);
}

template <class T>
void H5Writer::write(const std::string& name, const std::vector<T>& data, std::vector<int64_t> shape) {
  if (shape.empty()) shape = {static_cast<int64_t>(data.size())};
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  DUO_CHECK(n == static_cast<int64_t>(data.size()), "{}: dataset '{}': shape [{}] holds {} elements; got {}",
            impl_->path.string(), name, fmt::join(shape, ", "), n, data.size());
  int kind;
  if constexpr (std::is_same_v<T, float>) kind = kF32;
  else if constexpr (std::is_same_v<T, double>) kind = kF64;
  else if constexpr (std::is_same_v<T, int32_t>) kind = kI32;
  else if constexpr (std::is_same_v<T, int64_t>) kind = kI64;
  else if constexpr (std::is_same_v<T, uint8_t>) kind = kU8;
  else static_assert(sizeof(T) == 0, "unsupported element type");
  write_raw(name, data.data(), kind, shape, 0);
}

template void H5Writer::write<int32_t>(const std::string&, const std::vector<int32_t>&, std::vector<int64_t>);
template void H5Writer::write<int64_t>(const std::string&, const std::vector<int64_t>&, std::vector<int64_t>);
template void H5Writer::write<uint8_t>(const std::string&, const std::vector<uint8_t>&, std::vector<int64_t>);
template void H5Writer::write<float>(const std::string&, const std::vector<float>&, std::vector<int64_t>);
template void H5Writer::write<double>(const std::string&, const std::vector<double>&, std::vector<int64_t>);

void H5Writer::write_strings(const std::string& name, const std::vector<std::string>& s) {
  const fs::path& path = impl_->path;
  DUO_CHECK(impl_->open(), "{}: dataset '{}': the writer was already committed", path.string(), name);
  H5::H5File file = impl_->view();
  DUO_CHECK(!link_exists(file, name), "{}: dataset '{}' already exists", path.string(), name);
  guarded(path, fmt::format("dataset '{}'", name), [&] {
    const auto parts = split_path(name);
    create_parent_groups(file, parts);
    hsize_t dims[1] = {s.size()};
    H5::DataSpace space(1, dims);
    H5::StrType type = utf8_vlen_type();
    H5::DataSet ds = file.createDataSet(name, type, space, untimed_dataset_props());
    std::vector<const char*> ptrs;
    for (const auto& x : s) ptrs.push_back(x.c_str());
    if (!s.empty()) ds.write(ptrs.data(), type);
  });
}

void H5Writer::set_attr(const std::string& object, const std::string& key, const std::string& value) {
  DUO_CHECK(impl_->open(), "{}: attribute '{}': the writer was already committed", impl_->path.string(), key);
  guarded(impl_->path, fmt::format("attribute '{}' of '{}'", key, object), [&] {
    auto obj = open_object(impl_->view(), impl_->path, object);
    if (obj->attrExists(key)) obj->removeAttr(key);
    H5::StrType type = utf8_vlen_type();
    H5::Attribute a = obj->createAttribute(key, type, H5::DataSpace(H5S_SCALAR));
    a.write(type, value);
  });
}

void H5Writer::set_attr(const std::string& object, const std::string& key, const char* value) {
  set_attr(object, key, std::string(value));
}

void H5Writer::set_attr(const std::string& object, const std::string& key, int64_t value) {
  DUO_CHECK(impl_->open(), "{}: attribute '{}': the writer was already committed", impl_->path.string(), key);
  guarded(impl_->path, fmt::format("attribute '{}' of '{}'", key, object), [&] {
    auto obj = open_object(impl_->view(), impl_->path, object);
    if (obj->attrExists(key)) obj->removeAttr(key);
    H5::Attribute a = obj->createAttribute(key, H5::PredType::NATIVE_INT64, H5::DataSpace(H5S_SCALAR));
    a.write(H5::PredType::NATIVE_INT64, &value);
  });
}

void H5Writer::set_attr(const std::string& object, const std::string& key, double value) {
  DUO_CHECK(impl_->open(), "{}: attribute '{}': the writer was already committed", impl_->path.string(), key);
  guarded(impl_->path, fmt::format("attribute '{}' of '{}'", key, object), [&] {
    auto obj = open_object(impl_->view(), impl_->path, object);
    if (obj->attrExists(key)) obj->removeAttr(key);
    H5::Attribute a = obj->createAttribute(key, H5::PredType::NATIVE_DOUBLE, H5::DataSpace(H5S_SCALAR));
    a.write(H5::PredType::NATIVE_DOUBLE, &value);
  });
}

void H5Writer::commit() {
  DUO_CHECK(impl_->open(), "{}: committed twice", impl_->path.string());
  DUO_CHECK(H5Fflush(impl_->file, H5F_SCOPE_GLOBAL) >= 0, "{}: cannot flush the file in memory", impl_->path.string());
  const ssize_t size = H5Fget_file_image(impl_->file, nullptr, 0);
  DUO_CHECK(size > 0, "{}: cannot build the file image", impl_->path.string());
  std::string image(static_cast<size_t>(size), '\0');
  DUO_CHECK(H5Fget_file_image(impl_->file, image.data(), image.size()) == size, "{}: cannot build the file image",
            impl_->path.string());
  impl_->close();
  impl_->temp.stream().write(image.data(), static_cast<std::streamsize>(image.size()));
  impl_->temp.commit();
}

// ---------------------------------------------------------------------------------------------
// H5Reader

struct H5Reader::Impl {
  fs::path path;
  H5::H5File file;

  H5::DataSet dataset(const std::string& name) const {
    DUO_CHECK(link_exists(file, name), "{}: dataset '{}' not found", path.string(), name);
    DUO_CHECK(file.childObjType(name) == H5O_TYPE_DATASET, "{}: '{}' is a group; expected a dataset",
              path.string(), name);
    return file.openDataSet(name);
  }
  H5::Attribute attribute(const std::string& object, const std::string& key) const {
    auto obj = open_object(file, path, object);
    DUO_CHECK(obj->attrExists(key), "{}: attribute '{}' not found on '{}'", path.string(), key,
              is_root(object) ? "/" : object);
    return obj->openAttribute(key);
  }
};

H5Reader::H5Reader(const fs::path& path) {
  silence_hdf5();
  std::error_code ec;
  DUO_CHECK(fs::exists(path, ec), "{}: cannot open: no such file", path.string());
  DUO_CHECK(fs::is_regular_file(path, ec), "{}: cannot open: not a regular file", path.string());
  htri_t is_h5 = H5Fis_hdf5(path.c_str());
  DUO_CHECK(is_h5 > 0, "{}: not an HDF5 file", path.string());
  probe_hdf5_file(path);  // a damaged file must not crash this process inside the HDF5 library
  impl_ = guarded(path, "cannot open", [&] {
    return std::unique_ptr<Impl>(new Impl{path, H5::H5File(path.string(), H5F_ACC_RDONLY)});
  });
}

H5Reader::~H5Reader() = default;

const fs::path& H5Reader::path() const { return impl_->path; }

bool H5Reader::has(const std::string& name) const {
  if (is_root(name)) return true;
  return guarded(impl_->path, fmt::format("object '{}'", name), [&] { return link_exists(impl_->file, name); });
}

std::vector<int64_t> H5Reader::shape(const std::string& name) const {
  return guarded(impl_->path, fmt::format("dataset '{}'", name), [&] {
    H5::DataSpace space = impl_->dataset(name).getSpace();
    const int rank = space.getSimpleExtentNdims();
    std::vector<hsize_t> dims(static_cast<size_t>(rank));
    if (rank > 0) space.getSimpleExtentDims(dims.data());
    return std::vector<int64_t>(dims.begin(), dims.end());
  });
}

at::Tensor H5Reader::read(const std::string& name) const {
  const std::vector<int64_t> dims = shape(name);
  return guarded(impl_->path, fmt::format("dataset '{}'", name), [&] {
    H5::DataSet ds = impl_->dataset(name);
    H5::DataType stored = ds.getDataType();
    const H5T_class_t cls = stored.getClass();
    const size_t size = stored.getSize();
    at::ScalarType st;
    H5::DataType mem;
    if (cls == H5T_FLOAT && (size == 4 || size == 8)) {
      st = size == 4 ? at::kFloat : at::kDouble;
      mem = size == 4 ? H5::PredType::NATIVE_FLOAT : H5::PredType::NATIVE_DOUBLE;
    } else if (cls == H5T_INTEGER) {
      const bool is_signed = H5Tget_sign(stored.getId()) == H5T_SGN_2;
      if (size == 1) {
        st = is_signed ? at::kChar : at::kByte;
        mem = is_signed ? H5::PredType::NATIVE_INT8 : H5::PredType::NATIVE_UINT8;
      } else if (size == 2) {
        st = is_signed ? at::kShort : at::kInt;
        mem = is_signed ? H5::PredType::NATIVE_INT16 : H5::PredType::NATIVE_INT32;
      } else if (size == 4) {
        st = is_signed ? at::kInt : at::kLong;
        mem = is_signed ? H5::PredType::NATIVE_INT32 : H5::PredType::NATIVE_INT64;
      } else {
        DUO_CHECK(size == 8 && is_signed, "{}: dataset '{}' holds {}; expected a type that fits int64",
                  impl_->path.string(), name, type_desc(stored));
        st = at::kLong;
        mem = H5::PredType::NATIVE_INT64;
      }
    } else if (is_h5py_bool(stored)) {
      st = at::kBool;
      mem = bool_type();
    } else {
      fail("{}: dataset '{}' holds {}; expected numbers or bools{}", impl_->path.string(), name, type_desc(stored),
           cls == H5T_STRING ? " (use read_strings)" : "");
    }
    uint64_t n = 1;
    for (int64_t d : dims) n = d == 0 ? 0 : (n > UINT64_MAX / static_cast<uint64_t>(d) ? UINT64_MAX : n * d);
    check_extent(impl_->path, name, n, size);
    at::Tensor out = at::empty(dims, at::TensorOptions().dtype(st));
    if (out.numel() > 0) ds.read(out.data_ptr(), mem);
    return out;
  });
}

template <class T>
std::vector<T> H5Reader::read_vector(const std::string& name) const {
  return guarded(impl_->path, fmt::format("dataset '{}'", name), [&] {
    H5::DataSet ds = impl_->dataset(name);
    H5::DataType stored = ds.getDataType();
    const H5T_class_t cls = stored.getClass();
    const size_t size = stored.getSize();
    constexpr bool want_float = std::is_floating_point_v<T>;
    constexpr bool want_signed = std::is_signed_v<T>;
    bool ok;
    std::string expected;
    if constexpr (want_float) {
      ok = cls == H5T_FLOAT && size <= sizeof(T);
      expected = fmt::format("float{} or narrower", sizeof(T) * 8);
    } else {
      const bool stored_signed = cls == H5T_INTEGER && H5Tget_sign(stored.getId()) == H5T_SGN_2;
      ok = cls == H5T_INTEGER && (stored_signed == want_signed ? size <= sizeof(T)
                                                               : (!stored_signed && size < sizeof(T)));
      expected = fmt::format("{}int{} or narrower", want_signed ? "" : "u", sizeof(T) * 8);
    }
    DUO_CHECK(ok, "{}: dataset '{}' holds {}; expected {}", impl_->path.string(), name, type_desc(stored), expected);
    H5::DataType mem;
    if constexpr (std::is_same_v<T, float>) mem = H5::PredType::NATIVE_FLOAT;
    else if constexpr (std::is_same_v<T, double>) mem = H5::PredType::NATIVE_DOUBLE;
    else if constexpr (std::is_same_v<T, int32_t>) mem = H5::PredType::NATIVE_INT32;
    else if constexpr (std::is_same_v<T, int64_t>) mem = H5::PredType::NATIVE_INT64;
    else if constexpr (std::is_same_v<T, uint8_t>) mem = H5::PredType::NATIVE_UINT8;
    else static_assert(sizeof(T) == 0, "unsupported element type");
    const auto n = static_cast<uint64_t>(ds.getSpace().getSimpleExtentNpoints());
    check_extent(impl_->path, name, n, size);
    std::vector<T> out(static_cast<size_t>(n));
    if (!out.empty()) ds.read(out.data(), mem);
    return out;
  });
}

template std::vector<int32_t> H5Reader::read_vector<int32_t>(const std::string&) const;
template std::vector<int64_t> H5Reader::read_vector<int64_t>(const std::string&) const;
template std::vector<uint8_t> H5Reader::read_vector<uint8_t>(const std::string&) const;
template std::vector<float> H5Reader::read_vector<float>(const std::string&) const;
template std::vector<double> H5Reader::read_vector<double>(const std::string&) const;

std::vector<std::string> H5Reader::read_strings(const std::string& name) const {
  return guarded(impl_->path, fmt::format("dataset '{}'", name), [&] {
    H5::DataSet ds = impl_->dataset(name);
    H5::DataType stored = ds.getDataType();
    DUO_CHECK(stored.getClass() == H5T_STRING, "{}: dataset '{}' holds {}; expected strings", impl_->path.string(),
              name, type_desc(stored));
    H5::StrType st = ds.getStrType();
    H5::DataSpace space = ds.getSpace();
    const size_t n = static_cast<size_t>(space.getSimpleExtentNpoints());
    std::vector<std::string> out;
    out.reserve(n);
    if (n == 0) return out;
    if (st.isVariableStr()) {
      H5::StrType mem(H5::PredType::C_S1, H5T_VARIABLE);
      mem.setCset(st.getCset());
      std::vector<char*> ptrs(n, nullptr);
      ds.read(ptrs.data(), mem);
      for (char* p : ptrs) out.emplace_back(p == nullptr ? "" : p);
      H5::DataSet::vlenReclaim(ptrs.data(), mem, space);
    } else {
      const size_t len = st.getSize();
      std::vector<char> buf(n * len);
      ds.read(buf.data(), st);
      for (size_t i = 0; i < n; ++i) {
        const char* p = buf.data() + i * len;
        size_t m = 0;
        while (m < len && p[m] != '\0') ++m;
        std::string s(p, m);
        if (st.getStrpad() == H5T_STR_SPACEPAD) s.erase(s.find_last_not_of(' ') + 1);
        out.push_back(std::move(s));
      }
    }
    return out;
  });
}

std::string H5Reader::attr_string(const std::string& object, const std::string& key) const {
  return guarded(impl_->path, fmt::format("attribute '{}' of '{}'", key, object), [&] {
    H5::Attribute a = impl_->attribute(object, key);
    H5::DataType t = a.getDataType();
    DUO_CHECK(t.getClass() == H5T_STRING, "{}: attribute '{}' of '{}' holds {}; expected a string",
              impl_->path.string(), key, object, type_desc(t));
    std::string out;
    a.read(a.getStrType(), out);
    return out;
  });
}

int64_t H5Reader::attr_int(const std::string& object, const std::string& key) const {
  return guarded(impl_->path, fmt::format("attribute '{}' of '{}'", key, object), [&] {
    H5::Attribute a = impl_->attribute(object, key);
    H5::DataType t = a.getDataType();
    DUO_CHECK(t.getClass() == H5T_INTEGER && a.getSpace().getSimpleExtentNpoints() == 1,
              "{}: attribute '{}' of '{}' holds {}; expected one integer", impl_->path.string(), key, object,
              type_desc(t));
    int64_t v = 0;
    a.read(H5::PredType::NATIVE_INT64, &v);
    return v;
  });
}

double H5Reader::attr_double(const std::string& object, const std::string& key) const {
  return guarded(impl_->path, fmt::format("attribute '{}' of '{}'", key, object), [&] {
    H5::Attribute a = impl_->attribute(object, key);
    H5::DataType t = a.getDataType();
    DUO_CHECK((t.getClass() == H5T_FLOAT || t.getClass() == H5T_INTEGER) && a.getSpace().getSimpleExtentNpoints() == 1,
              "{}: attribute '{}' of '{}' holds {}; expected one number", impl_->path.string(), key, object,
              type_desc(t));
    double v = 0;
    a.read(H5::PredType::NATIVE_DOUBLE, &v);
    return v;
  });
}

std::vector<std::string> H5Reader::attr_names(const std::string& object) const {
  return guarded(impl_->path, fmt::format("object '{}'", object), [&] {
    auto obj = open_object(impl_->file, impl_->path, object);
    std::vector<std::string> names;
    const int n = obj->getNumAttrs();
    for (int i = 0; i < n; ++i) names.push_back(obj->openAttribute(static_cast<unsigned>(i)).getName());
    std::sort(names.begin(), names.end());
    return names;
  });
}

std::vector<std::string> H5Reader::children(const std::string& group) const {
  return guarded(impl_->path, fmt::format("group '{}'", group), [&] {
    const std::string g = is_root(group) ? "/" : group;
    DUO_CHECK(is_root(group) || (link_exists(impl_->file, group) && impl_->file.childObjType(group) == H5O_TYPE_GROUP),
              "{}: group '{}' not found", impl_->path.string(), group);
    H5::Group grp = impl_->file.openGroup(g);
    std::vector<std::string> names;
    const hsize_t n = grp.getNumObjs();
    for (hsize_t i = 0; i < n; ++i) names.push_back(grp.getObjnameByIdx(i));
    std::sort(names.begin(), names.end());
    return names;
  });
}

}  // namespace duo::io
