// Shared declarations of the snnkit addon: the tensor wrapper, the argument reader and op registration.
// The addon is a small generic engine over ATen; all policy lives in TypeScript.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <atomic>
#include <c10/util/Optional.h>
#include <string>
#include <vector>

namespace snn {

// Per-environment state (worker_threads safe: no static JS references).
struct AddonData {
  Napi::FunctionReference tensorCtor;
  Napi::FunctionReference generatorCtor;
  Napi::FunctionReference errorClass;  // SnnkitError, handed over by init()
  int64_t pendingExternal = 0;         // bytes not yet reported to V8
};
AddonData& Data(Napi::Env env);

// Live-tensor accounting over all handles that still own an at::Tensor.
struct LiveStats {
  std::atomic<int64_t> tensors{0};
  std::atomic<int64_t> bytes{0};
};
LiveStats& Live();

// One JS object per at::Tensor. dispose() drops the reference deterministically; the GC finalizer is a backstop.
class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  static Napi::Value Make(Napi::Env env, at::Tensor t);
  explicit TensorWrap(const Napi::CallbackInfo& info);
  ~TensorWrap() override;
  bool live() const { return live_; }
  const at::Tensor& tensor() const { return t_; }
  void set(Napi::Env env, at::Tensor t);
  void release(Napi::Env env);

 private:
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);
  at::Tensor t_;
  int64_t bytes_ = 0;
  bool live_ = false;
};

class GeneratorWrap : public Napi::ObjectWrap<GeneratorWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit GeneratorWrap(const Napi::CallbackInfo& info);
  at::Generator gen;

 private:
  Napi::Value Seed(const Napi::CallbackInfo& info);
  Napi::Value ManualSeed(const Napi::CallbackInfo& info);
};

// Reads the arguments of one op call; remembers the tensors it saw so that errors can name their shapes.
class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* op) : info_(info), op_(op) {}
  Napi::Env env() const { return info_.Env(); }
  size_t size() const { return info_.Length(); }
  bool isNullish(size_t i) const;
  at::Tensor tensor(size_t i);
  c10::optional<at::Tensor> optTensor(size_t i);
  std::vector<at::Tensor> tensors(size_t i);
  bool isTensor(size_t i) const;
  double f64(size_t i) const;
  c10::optional<double> optF64(size_t i) const;
  int64_t i64(size_t i) const;
  bool boolean(size_t i) const;
  std::string str(size_t i) const;
  std::vector<int64_t> ints(size_t i) const;
  at::ScalarType dtype(size_t i) const;
  c10::optional<at::Generator> generator(size_t i) const;
  at::Scalar scalar(size_t i) const;  // a JS number as double, a boolean as bool
  TensorWrap* wrap(size_t i) const;
  // The bytes of an ArrayBuffer or typed array argument (valid during the call only).
  std::pair<const uint8_t*, size_t> bytes(size_t i) const;
  const char* op() const { return op_; }
  std::string describeInputs() const;
  [[noreturn]] void fail(const std::string& code, const std::string& msg) const;

 private:
  const Napi::CallbackInfo& info_;
  const char* op_;
  std::vector<at::Tensor> seen_;
};

using OpFn = Napi::Value (*)(Args&);
// Registers `fn` as exports[name]; converts every C++/libtorch exception into an SnnkitError.
void Def(Napi::Env env, Napi::Object exports, const char* name, OpFn fn);

// Return helpers.
Napi::Value Ret(Napi::Env env, at::Tensor t);
Napi::Value Ret(Napi::Env env, const std::vector<at::Tensor>& ts);
Napi::Value Ret(Napi::Env env, std::tuple<at::Tensor, at::Tensor> ts);
Napi::Array IntArray(Napi::Env env, at::IntArrayRef v);

const char* DtypeName(at::ScalarType t);
std::string Describe(const at::Tensor& t);

// Error plumbing (errors.cc).
Napi::Error MakeError(Napi::Env env, const std::string& code, const std::string& msg);
std::string ClassifyTorchError(const std::string& msg);

// Memory reporting to V8, in batches (a per-tensor report costs a GC per iteration).
void ReportExternal(Napi::Env env, int64_t delta);

// Op families register themselves here.
void InitCreation(Napi::Env env, Napi::Object exports);
void InitShape(Napi::Env env, Napi::Object exports);
void InitElementwise(Napi::Env env, Napi::Object exports);
void InitReduce(Napi::Env env, Napi::Object exports);
void InitNN(Napi::Env env, Napi::Object exports);
void InitAutograd(Napi::Env env, Napi::Object exports);
void InitSystem(Napi::Env env, Napi::Object exports);

// allocator.cc
void InstallAllocator();
struct AllocatorStats {
  std::string kind;
  int64_t allocatedBytes, cachedBytes, peakBytes, hits, misses;
};
AllocatorStats GetAllocatorStats();
void EmptyCache();

}  // namespace snn
