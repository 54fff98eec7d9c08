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
  Napi::FunctionReference generatorCtor;
  Napi::FunctionReference errorClass;  // SnnkitError, handed over by init()
  int64_t liveExternal = 0;            // bytes of the tensors this environment's handles own
  int64_t reportedExternal = 0;        // what V8 has been told of them
};
AddonData& Data(Napi::Env env);

// Live-tensor accounting over all handles that still own an at::Tensor.
struct LiveStats {
  std::atomic<int64_t> tensors{0};
  std::atomic<int64_t> bytes{0};
};
LiveStats& Live();

// Tensors live in a slot table; JavaScript holds an integer id (slot + generation). No per-tensor JS object or
// native finalizer exists, so a synchronous training loop frees memory at dispose() time: Node defers addon
// finalizers to the event loop, and per-tensor wrappers grew RSS by ~3 KB a step in a sync loop (measured).
// The generation makes a stale id (of a disposed tensor whose slot was reused) detectable.
namespace table {
double Register(Napi::Env env, at::Tensor t);
const at::Tensor* Lookup(double id);  // nullptr when disposed or invalid
bool Release(Napi::Env env, double id);
}  // namespace table

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
  // Operands that may be a tensor (an id) or a scalar (a number) are told apart by a bit mask argument:
  // bit k set = argument k is a tensor id. readMask(i) reads that mask from argument i.
  void readMask(size_t i) { mask_ = isNullish(i) ? 0 : static_cast<uint32_t>(i64(i)); }
  bool isTensor(size_t i) const { return (mask_ >> i) & 1u; }
  std::vector<at::Tensor> tensors(size_t i);
  double f64(size_t i) const;
  c10::optional<double> optF64(size_t i) const;
  int64_t i64(size_t i) const;
  bool boolean(size_t i) const;
  std::string str(size_t i) const;
  std::vector<int64_t> ints(size_t i) const;
  at::ScalarType dtype(size_t i) const;
  c10::optional<at::Generator> generator(size_t i) const;
  at::Scalar scalar(size_t i) const;  // a JS number as double, a boolean as bool
  // The bytes of an ArrayBuffer or typed array argument (valid during the call only).
  std::pair<const uint8_t*, size_t> bytes(size_t i) const;
  const char* op() const { return op_; }
  std::string describeInputs() const;
  [[noreturn]] void fail(const std::string& code, const std::string& msg) const;

 private:
  const Napi::CallbackInfo& info_;
  const char* op_;
  std::vector<at::Tensor> seen_;
  uint32_t mask_ = 0;
};

using OpFn = Napi::Value (*)(Args&);
// Registers `fn` as exports[name]; converts every C++/libtorch exception into an SnnkitError.
void Def(Napi::Env env, Napi::Object exports, const char* name, OpFn fn);

// Return helpers.
Napi::Value Ret(Napi::Env env, at::Tensor t);
Napi::Value Ret(Napi::Env env, const std::vector<at::Tensor>& ts);
Napi::Value Ret(Napi::Env env, std::tuple<at::Tensor, at::Tensor> ts);
Napi::Array IntArray(Napi::Env env, at::IntArrayRef v);

// Whether autograd records an op on x now.
bool NeedsGrad(const at::Tensor& x);

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
void InitPool(Napi::Env env, Napi::Object exports);
void InitOptim(Napi::Env env, Napi::Object exports);
void InitAutograd(Napi::Env env, Napi::Object exports);
void InitSystem(Napi::Env env, Napi::Object exports);
void InitNeuron(Napi::Env env, Napi::Object exports);
void InitBnNeuron(Napi::Env env, Napi::Object exports);
void InitClipFloor(Napi::Env env, Napi::Object exports);

// allocator.cc
void InstallAllocator();
struct AllocatorStats {
  std::string kind;
  int64_t allocatedBytes, cachedBytes, peakBytes, hits, misses;
};
AllocatorStats GetAllocatorStats();
void EmptyCache();
void ResetPeak();  // peak bytes start again from the bytes allocated now

}  // namespace snn
