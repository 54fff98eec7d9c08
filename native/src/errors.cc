// The one place where C++ exceptions become JS errors. Every op runs inside Def()'s try/catch, so a libtorch error
// never escapes to Node (which would abort the process); it arrives as an SnnkitError with a stable `code`.
#include "common.h"
#include <c10/util/Exception.h>
#include <algorithm>
#include <cctype>

namespace snn {

Napi::Error MakeError(Napi::Env env, const std::string& code, const std::string& msg) {
  AddonData& d = Data(env);
  if (d.errorClass.IsEmpty()) {
    Napi::Error e = Napi::Error::New(env, msg);
    e.Set("code", Napi::String::New(env, code));
    return e;
  }
  Napi::Object obj = d.errorClass.New({Napi::String::New(env, msg), Napi::String::New(env, code)});
  return Napi::Error(env, obj);
}

static std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string ClassifyTorchError(const std::string& raw) {
  const std::string m = Lower(raw);
  auto has = [&](const char* k) { return m.find(k) != std::string::npos; };
  if (has("out of range") || has("out of bounds") || (has("index ") && has("is out"))) return "INDEX_OUT_OF_RANGE";
  if (has("scalar type") || has("dtype") || has("result type") || has("not implemented for")) return "DTYPE_MISMATCH";
  if (has("size") || has("shape") || has("dimension") || has("must match") || has("mat1 and mat2") ||
      has("channels") || has("invalid for input of") || (has("expected") && has("dim")))
    return "SHAPE_MISMATCH";
  if (has("cuda") || has("device")) return "DEVICE_ERROR";
  return "TORCH_ERROR";
}

// libtorch messages carry a trailing "Exception raised from ..." and sometimes C++ frames; keep the human part.
static std::string Clean(const std::string& raw) {
  std::string s = raw;
  size_t cut = s.find("Exception raised from");
  if (cut != std::string::npos) s = s.substr(0, cut);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  for (char& c : s)
    if (c == '\n') c = ' ';
  return s;
}

struct OpEntry {
  const char* name;
  OpFn fn;
};

static Napi::Value Dispatch(const Napi::CallbackInfo& info) {
  const OpEntry* e = static_cast<const OpEntry*>(info.Data());
  Args args(info, e->name);
  try {
    return e->fn(args);
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::IndexError& err) {
    throw MakeError(info.Env(), "INDEX_OUT_OF_RANGE",
                    std::string(e->name) + ": " + Clean(err.msg()) + " (inputs: " + args.describeInputs() + ")");
  } catch (const c10::Error& err) {
    std::string msg = Clean(err.msg());
    throw MakeError(info.Env(), ClassifyTorchError(msg),
                    std::string(e->name) + ": " + msg + " (inputs: " + args.describeInputs() + ")");
  } catch (const std::bad_alloc&) {
    throw MakeError(info.Env(), "OUT_OF_MEMORY",
                    std::string(e->name) + ": out of memory (inputs: " + args.describeInputs() + ")");
  } catch (const std::exception& err) {
    // Some ATen checks throw plain std::runtime_error (e.g. reshape's size inference): classify those too.
    throw MakeError(info.Env(), ClassifyTorchError(err.what()),
                    std::string(e->name) + ": " + err.what() + " (inputs: " + args.describeInputs() + ")");
  }
}

void Def(Napi::Env env, Napi::Object exports, const char* name, OpFn fn) {
  // Lives as long as the process: one small entry per exported op.
  auto* entry = new OpEntry{name, fn};
  exports.Set(name, Napi::Function::New(env, Dispatch, name, entry));
}

}  // namespace snn
