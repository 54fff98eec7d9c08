// The tensor table (ids for JavaScript), the generator handle and return helpers.
#include "common.h"
#include <c10/core/GradMode.h>
#include <ATen/CPUGeneratorImpl.h>
#include <cmath>
#include <cstdlib>

namespace snn {

AddonData& Data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

LiveStats& Live() {
  static LiveStats* s = new LiveStats();  // never destroyed: finalizers may run during teardown
  return *s;
}

// V8 is told of the tensors' memory so that it collects tensors nobody disposed. It is told of growth only past a
// high-water mark, and of shrinking only well below it: a loop that allocates and disposes the same ~100 MB per
// iteration (a simulation step) then reports nothing after its first iteration. Reporting every 32 MB either way, as
// before, let V8 see +100 MB each iteration and run a full mark-compact each time (258 in 7 s of a ResNet-20
// simulation, ~20 % of the CPU with the concurrent marking threads).
void ReportExternal(Napi::Env env, int64_t delta) {
  constexpr int64_t kUp = 32ll << 20, kDown = 512ll << 20;
  AddonData& d = Data(env);
  d.liveExternal += delta;
  const int64_t change = d.liveExternal - d.reportedExternal;
  if (change >= kUp || change <= -kDown) {
    Napi::MemoryManagement::AdjustExternalMemory(env, change);
    d.reportedExternal = d.liveExternal;
  }
}

namespace table {
namespace {
constexpr double kSlots = 16777216.0;  // 2^24 live tensors at most; id = generation * 2^24 + slot
struct Entry {
  at::Tensor t;
  int64_t bytes = 0;
  uint32_t gen = 0;
  bool live = false;
};
std::vector<Entry>& Slots() {
  static auto* v = new std::vector<Entry>();
  return *v;
}
std::vector<uint32_t>& FreeList() {
  static auto* v = new std::vector<uint32_t>();
  return *v;
}
}  // namespace

double Register(Napi::Env env, at::Tensor t) {
  auto& slots = Slots();
  auto& freeList = FreeList();
  uint32_t slot;
  if (!freeList.empty()) {
    slot = freeList.back();
    freeList.pop_back();
  } else {
    if (slots.size() >= static_cast<size_t>(kSlots)) throw std::runtime_error("more than 16777216 live tensors: dispose tensors (or use tidy)");
    slot = static_cast<uint32_t>(slots.size());
    slots.emplace_back();
  }
  Entry& e = slots[slot];
  e.bytes = t.defined() ? static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size()) : 0;
  e.t = std::move(t);
  e.live = true;
  e.gen = (e.gen + 1) & 0x1fffffff;  // 29 bits: ids stay below 2^53
  Live().tensors++;
  Live().bytes += e.bytes;
  ReportExternal(env, e.bytes);
  return static_cast<double>(e.gen) * kSlots + static_cast<double>(slot);
}

static Entry* Find(double id) {
  if (!(id >= 0) || id != std::floor(id)) return nullptr;
  double g = std::floor(id / kSlots);
  double s = id - g * kSlots;
  auto& slots = Slots();
  if (s >= static_cast<double>(slots.size())) return nullptr;
  Entry& e = slots[static_cast<size_t>(s)];
  if (!e.live || static_cast<double>(e.gen) != g) return nullptr;
  return &e;
}

const at::Tensor* Lookup(double id) {
  Entry* e = Find(id);
  return e ? &e->t : nullptr;
}

bool Release(Napi::Env env, double id) {
  Entry* e = Find(id);
  if (!e) return false;
  e->t = at::Tensor();
  e->live = false;
  Live().tensors--;
  Live().bytes -= e->bytes;
  ReportExternal(env, -e->bytes);
  e->bytes = 0;
  FreeList().push_back(static_cast<uint32_t>(e - Slots().data()));
  return true;
}
}  // namespace table

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

Napi::Value Ret(Napi::Env env, at::Tensor t) { return Napi::Number::New(env, table::Register(env, std::move(t))); }

Napi::Value Ret(Napi::Env env, const std::vector<at::Tensor>& ts) {
  Napi::Array a = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); ++i) a.Set(static_cast<uint32_t>(i), Ret(env, ts[i]));
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

bool NeedsGrad(const at::Tensor& x) { return c10::GradMode::is_enabled() && x.requires_grad(); }

const char* DtypeName(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kByte: return "uint8";
    case at::kChar: return "int8";
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
