// The export table of the snnkit addon. What it exports is described, exactly, by src/native/binding.ts.
#include "common.h"

namespace snn {

void InitSpikeConv(Napi::Env env, Napi::Object exports);  // ops/spikeconv.cc (declared here: common.h rebuilds every file)

static Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "setErrorClass: expected a class");
  Data(info.Env()).errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

// dispose(id): frees the tensor now; false when it was already disposed. Never throws (used by finalizers).
static Napi::Value DisposeFn(const Napi::CallbackInfo& info) {
  bool ok = info.Length() > 0 && info[0].IsNumber() && table::Release(info.Env(), info[0].As<Napi::Number>().DoubleValue());
  return Napi::Boolean::New(info.Env(), ok);
}
static Napi::Value IsLiveFn(const Napi::CallbackInfo& info) {
  bool ok = info.Length() > 0 && info[0].IsNumber() && table::Lookup(info[0].As<Napi::Number>().DoubleValue()) != nullptr;
  return Napi::Boolean::New(info.Env(), ok);
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  static bool allocatorInstalled = false;  // process-wide, once (workers share the allocator)
  if (!allocatorInstalled) {
    InstallAllocator();
    allocatorInstalled = true;
  }
  exports.Set("dispose", Napi::Function::New(env, DisposeFn, "dispose"));
  exports.Set("isLive", Napi::Function::New(env, IsLiveFn, "isLive"));
  GeneratorWrap::Init(env, exports);
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  InitCreation(env, exports);
  InitShape(env, exports);
  InitElementwise(env, exports);
  InitReduce(env, exports);
  InitNN(env, exports);
  InitPool(env, exports);
  InitOptim(env, exports);
  InitAutograd(env, exports);
  InitSystem(env, exports);
  InitNeuron(env, exports);
  InitBnNeuron(env, exports);
  InitClipFloor(env, exports);
  InitSpikeConv(env, exports);
  return exports;
}

}  // namespace snn

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return snn::Init(env, exports); }
NODE_API_MODULE(snnkit, InitAddon)
