// Process-wide settings and introspection: threads, seeds, memory, build info.
#include "common.h"
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <torch/version.h>

namespace snn {
namespace {

Napi::Value SetNumThreads(Args& a) {
  int64_t n = a.i64(0);
  if (n < 1) a.fail("INVALID_ARGUMENT", "the number of threads must be >= 1, got " + std::to_string(n));
  at::set_num_threads(static_cast<int>(n));
  return a.env().Undefined();
}
Napi::Value GetNumThreads(Args& a) { return Napi::Number::New(a.env(), at::get_num_threads()); }

Napi::Value ManualSeed(Args& a) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_current_seed(static_cast<uint64_t>(a.i64(0)));
  return a.env().Undefined();
}

Napi::Value Memory(Args& a) {
  Napi::Env env = a.env();
  AllocatorStats s = GetAllocatorStats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("liveTensors", Napi::Number::New(env, static_cast<double>(Live().tensors.load())));
  o.Set("liveBytes", Napi::Number::New(env, static_cast<double>(Live().bytes.load())));
  o.Set("allocator", Napi::String::New(env, s.kind));
  o.Set("allocatedBytes", Napi::Number::New(env, static_cast<double>(s.allocatedBytes)));
  o.Set("cachedBytes", Napi::Number::New(env, static_cast<double>(s.cachedBytes)));
  o.Set("peakBytes", Napi::Number::New(env, static_cast<double>(s.peakBytes)));
  o.Set("cacheHits", Napi::Number::New(env, static_cast<double>(s.hits)));
  o.Set("cacheMisses", Napi::Number::New(env, static_cast<double>(s.misses)));
  return o;
}
Napi::Value EmptyCacheFn(Args& a) {
  EmptyCache();
  return a.env().Undefined();
}

Napi::Value ResetPeakFn(Args& a) {
  ResetPeak();
  return a.env().Undefined();
}

Napi::Value BuildInfo(Args& a) {
  Napi::Env env = a.env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
  o.Set("hasCuda", Napi::Boolean::New(env, at::hasCUDA()));
  o.Set("parallel", Napi::String::New(env, at::get_parallel_info()));
  return o;
}


}  // namespace

void InitSystem(Napi::Env env, Napi::Object e) {
  Def(env, e, "setNumThreads", SetNumThreads);
  Def(env, e, "getNumThreads", GetNumThreads);
  Def(env, e, "manualSeed", ManualSeed);
  Def(env, e, "memory", Memory);
  Def(env, e, "emptyCache", EmptyCacheFn);
  Def(env, e, "resetPeakMemory", ResetPeakFn);
  Def(env, e, "buildInfo", BuildInfo);
}

}  // namespace snn
