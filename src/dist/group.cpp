// c10d process group over Gloo (see group.h).
#include "dist/group.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <vector>

#include "core/error.h"

namespace duo::dist {
namespace {

// An exception's message without LibTorch's backtrace (first line only).
std::string message_of(const std::exception& e) {
  std::string s;
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) {
    s = c->what_without_backtrace();
  } else {
    s = e.what();
  }
  return s;
}

std::string first_line(const std::string& s) {
  const auto pos = s.find('\n');
  return pos == std::string::npos ? s : s.substr(0, pos);
}

bool loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// The Gloo transport device: the interface GLOO_SOCKET_IFNAME names (as PyTorch), loopback when
// rank 0 is on this machine's loopback (single-machine runs), else the address this host's name
// resolves to (PyTorch's default).
std::shared_ptr<::gloo::transport::Device> make_device(const std::string& master_addr) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname != '\0')
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  if (loopback(master_addr)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

// Largest message a failing rank sends the others (bytes).
constexpr int64_t kMaxMessage = 4000;

}  // namespace

void check_backend(const std::string& backend) {
  DUO_CHECK(backend != "nccl",
            "key 'dist_backend' (--dist-backend) is 'nccl', but this build of duo has no NCCL process group (Debian's "
            "LibTorch is CPU-only); expected 'gloo'");
  DUO_CHECK(backend == "gloo", "key 'dist_backend' (--dist-backend) is '{}'; expected 'gloo' (or 'nccl' on a CUDA "
            "build)", backend);
}

struct Group::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
};

Group::Group() = default;
Group::~Group() = default;

Group::Group(const DistEnv& env, const DistOptions& opts)
    : impl_(std::make_unique<Impl>()), rank_(env.rank), size_(env.world_size), timeout_s_(opts.dist_timeout) {
  check_backend(opts.dist_backend);
  DUO_CHECK(env.distributed(), "internal error: a process group needs more than one process");
  DUO_CHECK(opts.dist_timeout > 0 && opts.dist_timeout <= 7 * 24 * 3600.0,
            "key 'dist_timeout' (--dist-timeout) is {} s; expected a number of seconds in (0, 604800]",
            opts.dist_timeout);
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(opts.dist_timeout * 1000.0));
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(env.master_port);
    so.isServer = env.rank == 0;
    so.numWorkers = static_cast<size_t>(env.world_size);
    so.waitWorkers = true;
    so.timeout = timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
    auto po = c10d::ProcessGroupGloo::Options::create(timeout);
    po->devices.push_back(make_device(env.master_addr));
    po->threads = 1;  // one transport thread: the gradients are tiny, compute keeps the cores
    impl_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env.rank, env.world_size, po);
  } catch (const std::exception& e) {
    fail("{}: cannot join the process group of {} processes at {}:{} ({}); expected every rank to start within "
         "dist_timeout ({} s) with the same MASTER_ADDR/MASTER_PORT, and rank 0 able to listen on that port",
         name(), env.world_size, env.master_addr, env.master_port, first_line(message_of(e)), opts.dist_timeout);
  }
}

std::string Group::name() const { return fmt::format("rank {} of {}", rank_, size_); }

at::Tensor Group::allgather_rows(const at::Tensor& rows, const std::string& what) const {
  DUO_ASSERT(rows.dim() == 2);
  if (!impl_) return rows.clone();
  auto in = rows.contiguous();
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < size_; ++r) out[0].push_back(at::empty_like(in));
  std::vector<at::Tensor> inputs{in};
  try {
    impl_->pg->allgather(out, inputs)->wait();
  } catch (const std::exception& e) {
    fail("{}: {} lost contact with the other ranks ({}); another rank stopped, or did not answer within "
         "dist_timeout ({} s)", what, name(), first_line(message_of(e)), timeout_s_);
  }
  return at::cat(out[0], 0);
}

void Group::broadcast(at::Tensor& t, const std::string& what) const {
  if (!impl_) return;
  DUO_ASSERT(t.is_contiguous());
  std::vector<at::Tensor> ts{t};
  c10d::BroadcastOptions bo;
  bo.rootRank = 0;
  try {
    impl_->pg->broadcast(ts, bo)->wait();
  } catch (const std::exception& e) {
    fail("{}: {} lost contact with the other ranks ({}); another rank stopped, or did not answer within "
         "dist_timeout ({} s)", what, name(), first_line(message_of(e)), timeout_s_);
  }
}

void Group::run_checked(const std::string& what, const std::function<void()>& fn) const {
  if (!impl_) {
    fn();
    return;
  }
  std::string own;
  bool failed = false;
  try {
    fn();
  } catch (const std::exception& e) {
    own = message_of(e);
    failed = true;
  }
  own.resize(std::min<size_t>(own.size(), kMaxMessage));
  // Everyone's status: [size, 2] = (failed, message bytes).
  auto st = allgather_rows(at::tensor({failed ? 1.0 : 0.0, static_cast<double>(own.size())}, at::kDouble).view({1, 2}),
                           what);
  auto sa = st.accessor<double, 2>();
  int first = -1;
  int64_t longest = 0;
  for (int r = 0; r < size_; ++r) {
    if (sa[r][0] == 0.0) continue;
    if (first < 0) first = r;
    longest = std::max<int64_t>(longest, static_cast<int64_t>(sa[r][1]));
  }
  if (first < 0) return;
  // The messages, padded to one length (bytes carried as float64 so one collective type serves).
  auto buf = at::zeros({1, std::max<int64_t>(longest, 1)}, at::kDouble);
  auto ba = buf.accessor<double, 2>();
  for (size_t i = 0; i < own.size(); ++i) ba[0][static_cast<int64_t>(i)] = static_cast<unsigned char>(own[i]);
  auto all = allgather_rows(buf, what);
  if (failed) throw Error(fmt::format("{}: {}", name(), own));
  auto aa = all.accessor<double, 2>();
  std::string msg;
  for (int64_t i = 0; i < static_cast<int64_t>(sa[first][1]); ++i) msg.push_back(static_cast<char>(aa[first][i]));
  throw Error(fmt::format("{}: rank {} of {} failed: {} (rank {} stopped too)", what, first, size_, msg, rank_));
}

}  // namespace duo::dist
