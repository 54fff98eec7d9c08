// The Tensor handle: one at::Tensor per JS object, plus the generator handle and return helpers.
#include "common.h"
#include <ATen/CPUGeneratorImpl.h>
#include <cstdlib>

namespace snn {

AddonData& Data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

LiveStats& Live() {
  static LiveStats* s = new LiveStats();  // never destroyed: finalizers may run during teardown
  return *s;
}

void ReportExternal(Napi::Env env, int64_t delta) {
  constexpr int64_t kBatch = 32ll << 20;
  AddonData& d = Data(env);
  d.pendingExternal += delta;
  if (d.pendingExternal >= kBatch || d.pendingExternal <= -kBatch) {
    Napi::MemoryManagement::AdjustExternalMemory(env, d.pendingExternal);
    d.pendingExternal = 0;
  }
}

void TensorWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function f = DefineClass(env, "TensorHandle",
                                 {InstanceMethod<&TensorWrap::Dispose>("dispose"),
                                  InstanceMethod<&TensorWrap::IsDisposed>("isDisposed")});
  Data(env).tensorCtor = Napi::Persistent(f);
  exports.Set("TensorHandle", f);
}

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {}

TensorWrap::~TensorWrap() {
  // GC backstop. V8 is not told here (no env calls allowed in a finalizer); the live counters are.
  if (live_) {
    Live().tensors--;
    Live().bytes -= bytes_;
    live_ = false;
    t_ = at::Tensor();
  }
}

void TensorWrap::set(Napi::Env env, at::Tensor t) {
  t_ = std::move(t);
  live_ = true;
  bytes_ = t_.defined() ? static_cast<int64_t>(t_.numel()) * static_cast<int64_t>(t_.element_size()) : 0;
  Live().tensors++;
  Live().bytes += bytes_;
  ReportExternal(env, bytes_);
}

void TensorWrap::release(Napi::Env env) {
  if (!live_) return;
  live_ = false;
  t_ = at::Tensor();
  Live().tensors--;
  Live().bytes -= bytes_;
  ReportExternal(env, -bytes_);
  bytes_ = 0;
}

Napi::Value TensorWrap::Dispose(const Napi::CallbackInfo& info) {
  release(info.Env());
  return info.Env().Undefined();
}

Napi::Value TensorWrap::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !live_);
}

Napi::Value TensorWrap::Make(Napi::Env env, at::Tensor t) {
  Napi::Object obj = Data(env).tensorCtor.New({});
  TensorWrap::Unwrap(obj)->set(env, std::move(t));
  return obj;
}

void GeneratorWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function f = DefineClass(env, "GeneratorHandle",
                                 {InstanceMethod<&GeneratorWrap::Seed>("seed"),
                                  InstanceMethod<&GeneratorWrap::ManualSeed>("manualSeed")});
  Data(env).generatorCtor = Napi::Persistent(f);
  exports.Set("GeneratorHandle", f);
}

GeneratorWrap::GeneratorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GeneratorWrap>(info) {
  uint64_t seed = info.Length() > 0 && info[0].IsNumber() ? static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value())
                                                          : 67280421310721ull;
  gen = at::make_generator<at::CPUGeneratorImpl>(seed);
}

Napi::Value GeneratorWrap::Seed(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(gen.current_seed()));
}

Napi::Value GeneratorWrap::ManualSeed(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_current_seed(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()));
  return info.Env().Undefined();
}

Napi::Value Ret(Napi::Env env, at::Tensor t) { return TensorWrap::Make(env, std::move(t)); }

Napi::Value Ret(Napi::Env env, const std::vector<at::Tensor>& ts) {
  Napi::Array a = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); ++i) a.Set(static_cast<uint32_t>(i), TensorWrap::Make(env, ts[i]));
  return a;
}

Napi::Value Ret(Napi::Env env, std::tuple<at::Tensor, at::Tensor> ts) {
  return Ret(env, std::vector<at::Tensor>{std::get<0>(ts), std::get<1>(ts)});
}

Napi::Array IntArray(Napi::Env env, at::IntArrayRef v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(v[i])));
  return a;
}

const char* DtypeName(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    default: return "unsupported";
  }
}

std::string Describe(const at::Tensor& t) {
  if (!t.defined()) return "undefined";
  std::string s = DtypeName(t.scalar_type());
  s += "[";
  for (size_t i = 0; i < t.sizes().size(); ++i) s += (i ? "," : "") + std::to_string(t.sizes()[i]);
  s += "]";
  if (!t.device().is_cpu()) s += "@" + t.device().str();
  return s;
}

}  // namespace snn
